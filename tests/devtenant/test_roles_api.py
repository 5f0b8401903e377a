"""Role assignment in the dev tenant, through auth0-python as the app calls it: `POST` / `DELETE
/api/v2/users/{id}/roles` with `{"roles": [...]}`, members of a role, and the dev control that adds roles
past Auth0's page of 50 (`POST /__dev/roles`)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from auth0.management.core.api_error import ApiError


def role_ids(api) -> dict[str, str]:
    return {r.name: r.id for r in api.roles.list(per_page=100, include_totals=True).items}


def user_role_names(api, user_id: str) -> list[str]:
    return [r.name for r in api.users.roles.list(user_id, per_page=100, include_totals=True).items]


def test_assign_then_remove_a_role(dt, api):
    staff = dt.users()[2]["user_id"]
    ids = role_ids(api)
    assert user_role_names(api, staff) == []
    api.users.roles.assign(staff, roles=[ids["Support Agent"], ids["User Viewer"]])
    assert user_role_names(api, staff) == ["Support Agent", "User Viewer"]
    api.users.roles.assign(staff, roles=[ids["Support Agent"]])  # again: no duplicate, still 204
    assert user_role_names(api, staff) == ["Support Agent", "User Viewer"]
    members = [m.user_id for m in api.roles.users.list(ids["Support Agent"], take=50)]
    assert staff in members
    api.users.roles.delete(staff, roles=[ids["Support Agent"]])
    assert user_role_names(api, staff) == ["User Viewer"]
    api.users.roles.delete(staff, roles=[ids["Support Agent"]])  # one it no longer holds: still 204
    assert staff not in [m.user_id for m in api.roles.users.list(ids["Support Agent"], take=50)]


def test_the_answer_is_204_without_a_body(dt, raw):
    staff = dt.users()[2]["user_id"]
    role = raw.get("/roles").json()[0]["id"]
    for method in ("POST", "DELETE"):
        answer = raw.request(method, f"/users/{quote(staff, safe='')}/roles", json={"roles": [role]})
        assert answer.status_code == 204 and answer.content == b""


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"roles": []}, "too short"),
        ({}, "Missing required property: roles"),
        ({"roles": ["x"], "more": 1}, "Additional properties not allowed: more"),
        ({"roles": "rol_x"}, "Expected type array"),
        ([], "Expected type object"),
    ],
)
def test_a_bad_body_is_auth0s_payload_error(dt, raw, body, words):
    staff = dt.users()[2]["user_id"]
    answer = raw.post(f"/users/{quote(staff, safe='')}/roles", json=body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["message"] and answer.json()["errorCode"] == "invalid_body"


def test_unknown_user_and_unknown_role(dt, api):
    ids = role_ids(api)
    with pytest.raises(ApiError) as gone:
        api.users.roles.assign("auth0|nobody", roles=[ids["User Viewer"]])
    assert gone.value.status_code == 404 and gone.value.body["errorCode"] == "inexistent_user"
    staff = dt.users()[2]["user_id"]
    with pytest.raises(ApiError) as unknown:
        api.users.roles.assign(staff, roles=["rol_nope"])
    assert unknown.value.status_code == 404 and unknown.value.body["errorCode"] == "inexistent_role"
    assert user_role_names(api, staff) == []  # nothing of a refused request is kept


def test_more_than_50_roles_page_and_a_reset_drops_them(dt, api):
    seeded = role_ids(api)
    made = dt.add_roles(60)
    assert len(made) == 60 and all(r["id"].startswith("rol_") and r["description"] for r in made)
    first = api.roles.list(page=0, per_page=50, include_totals=True)
    assert first.response.total == 63 and len(first.items) == 50
    second = api.roles.list(page=1, per_page=50, include_totals=True)
    assert len(second.items) == 13
    assert {r.id for r in first.items} | {r.id for r in second.items} >= set(seeded.values())
    dt.reset()
    assert role_ids(api) == seeded  # the seeded roles, ids and all, are untouched


def test_the_roles_dev_control_refuses_a_bad_body(dt, http):
    assert http.post("/__dev/roles", json={"count": 0}).status_code == 400
    assert http.post("/__dev/roles", json={"roles": [{"name": "User Admin"}]}).status_code == 400
    made = http.post("/__dev/roles", json={"roles": [{"name": "Auditor", "description": "Reads the log"}]})
    assert made.status_code == 201 and made.json()[0]["name"] == "Auditor"
