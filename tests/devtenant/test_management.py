"""Management API v2 through auth0-python's Auth0 client (and httpx for raw shapes)."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError
from auth0.management.errors import NotFoundError

from tests.devtenant.conftest import get_token


def test_list_with_totals_parses(api, dt):
    everyone = dt.users()
    pager = api.users.list(page=0, per_page=50, include_totals=True)
    assert pager.response.total == len(everyone) == 153
    assert len(pager.items) == 50
    assert all(u.user_id and u.email for u in pager.items)
    assert pager.items[0].created_at.tzinfo is not None


def test_raw_shapes_totals_and_bare_array(raw):
    body = raw.get("/users", params={"include_totals": "true", "per_page": 7, "page": 2}).json()
    assert set(body) == {"start", "limit", "length", "users", "total"}
    assert (body["start"], body["limit"], body["length"]) == (14, 7, 7)
    bare = raw.get("/users", params={"per_page": 3}).json()
    assert isinstance(bare, list) and len(bare) == 3


def test_paging_covers_everyone_once(raw, dt):
    seen = []
    for page in range(4):
        seen += [u["user_id"] for u in raw.get("/users", params={"page": page, "per_page": 50}).json()]
    assert len(seen) == len(set(seen)) == 153
    assert raw.get("/users", params={"page": 4, "per_page": 50}).json() == []


@pytest.mark.parametrize("field", ["created_at", "last_login", "name", "email", "logins_count", "updated_at"])
def test_sort_both_directions_missing_last(raw, dt, field):
    everyone = dt.users()
    present = [u for u in everyone if u.get(field) is not None]
    n_missing = len(everyone) - len(present)

    def key(u):
        v = u[field]
        return v.lower() if isinstance(v, str) and field in ("name", "email") else v

    for direction in (1, -1):
        got = []
        for page in range(2):
            got += raw.get(
                "/users", params={"sort": f"{field}:{direction}", "per_page": 100, "page": page}
            ).json()
        assert len(got) == len(everyone)
        values = [key(u) for u in got[: len(present)]]
        assert values == sorted(values, reverse=direction == -1)
        assert all(u.get(field) is None for u in got[len(present) :])
        if field == "last_login":
            assert n_missing > 5  # ~15 % never logged in, and they come last both ways


def test_sort_with_sdk_last_login_desc(api):
    items = api.users.list(sort="last_login:-1", per_page=20, include_totals=True).items
    logins = [u.last_login for u in items]
    assert logins == sorted(logins, reverse=True)


def test_fields_include_and_exclude(raw):
    only = raw.get("/users", params={"fields": "user_id,email", "per_page": 5}).json()
    assert all(set(u) <= {"user_id", "email"} and "user_id" in u for u in only)
    without = raw.get(
        "/users", params={"fields": "identities,app_metadata", "include_fields": "false"}
    ).json()
    assert all("identities" not in u and "app_metadata" not in u and "user_id" in u for u in without)


def test_fields_with_sdk(api):
    items = api.users.list(fields="user_id,email,name", include_fields=True, per_page=5).items
    assert all(u.identities is None and u.email for u in items)


def test_per_page_over_100_is_400(api, raw):
    r = raw.get("/users", params={"per_page": 101})
    assert r.status_code == 400
    assert r.json()["errorCode"] == "invalid_query_string"
    assert "per_page" in r.json()["message"]
    with pytest.raises(ApiError) as err:
        api.users.list(per_page=101)
    assert err.value.status_code == 400
    roles = raw.get("/roles", params={"per_page": 101})  # the paged role listings check it the same way
    assert roles.status_code == 400 and "per_page" in roles.json()["message"]


def test_search_window_of_1000(make_tenant):
    big = make_tenant(users=1200)
    tok = get_token(big)["access_token"]
    import httpx

    with httpx.Client(base_url=f"{big.base_url}/api/v2", headers={"authorization": f"Bearer {tok}"}) as c:
        last = c.get("/users", params={"page": 9, "per_page": 100, "include_totals": "true"}).json()
        assert last["total"] == 1203 and last["length"] == 100
        r = c.get("/users", params={"page": 10, "per_page": 100, "include_totals": "true"})
        assert r.status_code == 400
        assert r.json() == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": "You can only page through the first 1000 records. "
            "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
            "errorCode": "invalid_paging",
        }
        # a page straddling the limit is cut at record 1000
        edge = c.get("/users", params={"page": 19, "per_page": 52, "include_totals": "true"}).json()
        assert edge["start"] == 988 and edge["length"] == 12 and edge["total"] == 1203


def test_get_patch_delete_cycle(api, raw, dt):
    user = next(u for u in dt.users() if u["email"] != "admin@example.com" and not u.get("blocked"))
    uid = user["user_id"]
    assert api.users.get(uid).email == user["email"]
    assert raw.get(f"/users/{uid.replace('|', '%7C')}").json()["user_id"] == uid

    updated = api.users.update(uid, blocked=True, app_metadata={"plan": "gold", "region": None, "x": 1})
    assert updated.blocked is True
    assert updated.app_metadata == {
        **{k: v for k, v in (user.get("app_metadata") or {}).items() if k != "region"},
        "plan": "gold",
        "x": 1,
    }
    assert updated.updated_at.isoformat() > user["updated_at"][:19]
    r = raw.patch(f"/users/{uid}", json={"name": "New Name", "nickname": None})
    assert r.status_code == 200 and r.json()["name"] == "New Name" and "nickname" not in r.json()
    assert raw.patch(f"/users/{uid}", json={"bogus": 1}).status_code == 400
    assert raw.patch(f"/users/{uid}", json={"blocked": "yes"}).status_code == 400

    assert api.users.delete(uid) is None
    api.users.delete(uid)  # idempotent
    assert raw.delete("/users/auth0%7Cnever-existed").status_code == 204
    with pytest.raises(NotFoundError) as err:
        api.users.get(uid)
    assert err.value.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    assert raw.patch(f"/users/{uid}", json={"blocked": False}).status_code == 404
    assert uid not in {u["user_id"] for u in dt.users()}


def test_roles(api, raw, dt):
    by_email = {u["email"]: u for u in dt.users()}
    admin = by_email["admin@example.com"]["user_id"]
    staff = by_email["staff@example.com"]["user_id"]
    roles = api.users.roles.list(admin, per_page=50, page=0, include_totals=True)
    assert [r.name for r in roles.items] == ["User Admin"]
    assert roles.items[0].id.startswith("rol_") and len(roles.items[0].id) == 20
    assert api.users.roles.list(staff, include_totals=True).items == []
    body = raw.get(f"/users/{admin}/roles", params={"include_totals": "true"}).json()
    assert set(body) == {"roles", "start", "limit", "total"} and body["total"] == 1
    assert raw.get(f"/users/{admin}/roles").json()[0]["name"] == "User Admin"
    assert raw.get("/users/auth0%7Cnobody/roles").json()["errorCode"] == "inexistent_user"
    all_roles = api.roles.list(include_totals=True)
    assert sorted(r.name for r in all_roles.items) == ["Support Agent", "User Admin", "User Viewer"]
    viewer_role = next(r for r in all_roles.items if r.name == "User Viewer")
    members = raw.get(f"/roles/{viewer_role.id}/users").json()
    assert [m["email"] for m in members] == ["viewer@example.com"]


def test_created_user_with_roles(api, dt):
    made = dt.create_user(email="New.Person@Example.com", name="New Person", roles=["Support Agent"])
    assert made["email"] == "new.person@example.com" and made["user_id"].startswith("auth0|")
    assert [r.name for r in api.users.roles.list(made["user_id"], include_totals=True).items] == [
        "Support Agent"
    ]
    assert (
        api.users.list(q='email:"new.person@example.com"', search_engine="v3").items[0].name == "New Person"
    )


def test_users_by_email(raw):
    found = raw.get("/users-by-email", params={"email": "VIEWER@example.com"}).json()
    assert [u["email"] for u in found] == ["viewer@example.com"]
    assert raw.get("/users-by-email", params={"email": "nobody@example.com"}).json() == []


def test_reset_restores_users(api, dt):
    before = dt.users()
    api.users.delete(before[5]["user_id"])
    assert len(dt.users()) == len(before) - 1
    dt.reset()
    assert dt.users() == before
