"""`PATCH /api/v2/users/{id}` for metadata and profile edits, as Auth0 does it: top-level merge, `null`
removes a key, Auth0's limits on key names, reserved fields and size, the schema's field rules."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError


def a_database_user(dt) -> dict:
    return next(
        u
        for u in dt.users()
        if u["email"] not in ("admin@example.com", "viewer@example.com")
        and any(i.get("provider") == "auth0" for i in u.get("identities") or ())
    )


def path(user: dict) -> str:
    return "/users/" + user["user_id"].replace("|", "%7C")


def test_metadata_merges_at_the_top_level_and_null_removes_a_key(raw, dt):
    user = a_database_user(dt)
    first = raw.patch(path(user), json={"user_metadata": {"a": {"x": 1, "y": 2}, "b": 1, "keep": "k"}}).json()
    assert {"a", "b", "keep"} <= set(first["user_metadata"])
    second = raw.patch(path(user), json={"user_metadata": {"a": {"z": 3}, "b": None}}).json()
    assert second["user_metadata"]["a"] == {"z": 3}  # a nested object is replaced whole
    assert "b" not in second["user_metadata"] and second["user_metadata"]["keep"] == "k"
    assert second["updated_at"] >= first["updated_at"]


def test_the_sdk_sends_null_for_a_removed_key(api, dt):
    """auth0-python keeps a None inside the metadata dict as JSON null (it drops only omitted arguments)."""
    user = a_database_user(dt)
    api.users.update(user["user_id"], app_metadata={"plan": "gold", "tier": 2})
    after = api.users.update(user["user_id"], app_metadata={"tier": None})
    assert after.app_metadata.get("plan") == "gold" and "tier" not in (after.app_metadata or {})


@pytest.mark.parametrize("key", ["preference.color", "$where"])
def test_a_dot_or_dollar_in_a_metadata_key_is_refused(raw, dt, key):
    user = a_database_user(dt)
    for body in ({"user_metadata": {key: 1}}, {"app_metadata": {"ok": {key: 1}}}):
        r = raw.patch(path(user), json=body)
        assert r.status_code == 400, body
        assert r.json()["errorCode"] == "invalid_body" and key in r.json()["message"]
    assert "preference.color" not in (raw.get(path(user)).json().get("user_metadata") or {})


def test_reserved_app_metadata_fields_are_refused(raw, dt):
    user = a_database_user(dt)
    r = raw.patch(path(user), json={"app_metadata": {"email": "x@example.com"}})
    assert r.status_code == 400 and "reserved field email" in r.json()["message"]
    assert raw.patch(path(user), json={"user_metadata": {"email": "x@example.com"}}).status_code == 200


def test_metadata_over_16_mb_is_refused(raw, dt):
    user = a_database_user(dt)
    r = raw.patch(path(user), json={"user_metadata": {"big": "x" * (16 * 1024 * 1024)}})
    assert r.status_code == 400 and "too large" in r.json()["message"]
    assert "big" not in (raw.get(path(user)).json().get("user_metadata") or {})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": ""}, "String is too short (0 chars), minimum 1' on property name"),
        ({"given_name": "g" * 151}, "String is too long (151 chars), maximum 150' on property given_name"),
        ({"nickname": "n" * 301}, "maximum 300' on property nickname"),
        ({"phone_number": "0123"}, "does not match pattern"),
        ({"email": "not-an-email"}, "format email"),
        ({"picture": "javascript:alert(1)"}, "format strict-uri"),
    ],
)
def test_profile_fields_are_validated_as_the_schema_says(raw, dt, body, words):
    r = raw.patch(path(a_database_user(dt)), json=body)
    assert r.status_code == 400 and r.json()["errorCode"] == "invalid_body"
    assert words in r.json()["message"]


def test_profile_fields_change_and_null_unsets_them(api, raw, dt):
    user = a_database_user(dt)
    after = api.users.update(
        user["user_id"], name="Ada L", given_name="Ada", family_name="L", picture="https://example.com/a.png"
    )
    assert (after.name, after.given_name, after.family_name) == ("Ada L", "Ada", "L")
    cleared = raw.patch(path(user), json={"family_name": None}).json()
    assert "family_name" not in cleared


def test_a_new_email_is_unverified_unless_marked_and_verify_email_sends_one(raw, dt):
    user = a_database_user(dt)
    dt.clear_outbox()
    marked = raw.patch(path(user), json={"email": "marked@example.com", "email_verified": True}).json()
    assert marked["email"] == "marked@example.com" and marked["email_verified"] is True
    sent = raw.patch(path(user), json={"email": "sent@example.com", "verify_email": True}).json()
    assert sent["email_verified"] is False
    mails = [m for m in dt.outbox() if m["to"] == "sent@example.com"]
    assert [m["kind"] for m in mails] == ["verification_email"]
    assert not [m for m in dt.outbox() if m["to"] == "marked@example.com"]


def test_email_of_a_social_user_is_refused(api, dt):
    social = dt.support_examples()["social"][0]
    with pytest.raises(ApiError) as err:
        api.users.update(social, email="other@example.com")
    assert err.value.status_code == 400 and err.value.body["errorCode"] == "operation_not_supported"
    assert api.users.update(social, nickname="ok").nickname == "ok"
