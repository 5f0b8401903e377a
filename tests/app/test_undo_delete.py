"""Undo a delete, end to end against the dev tenant over real HTTP: the profile kept before the delete,
the re-creation (email, metadata, roles, reset email, both ids recorded), refusals, retention, faults, and
the Audit page's "Deleted people" part under AppTest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from admin_core import actions, deleted, runtime
from admin_core.audit import deleted_profiles
from admin_core.auth import IDENTITY_KEY, Identity, Role
from admin_core.errors import NotAllowed
from tests.app.test_audit_trail import open_store
from tests.support.app_env import clear_app_caches
from tests.support.identities import identity_of
from tests.support.markdown import visible

KINDS = {
    "503": ({"status": 503}, "(HTTP 503)"),
    "429": ({"status": 429, "headers": {"x-ratelimit-reset": str(int(time.time()) + 30)}}, "rate limit"),
    "timeout": ({"delay_ms": 3_000}, "did not answer in time"),
    "dropped": ({"drop": True}, "Could not reach Auth0"),
    "malformed": ({"malformed": True}, "could not read"),
}
EMAIL = "dora.undo@example.org"


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)


@pytest.fixture
def dora(fresh_tenant):
    """A database user with metadata and a role."""
    raw = fresh_tenant.create_user(
        email=EMAIL,
        name="Dora Undo",
        password="Old-password-1",
        user_metadata={"theme": "dark", "lang": "de"},
        app_metadata={"plan": "gold"},
        roles=["User Viewer"],
    )
    return runtime.get_directory().get_user(raw["user_id"])


def test_delete_then_recreate_restores_email_metadata_and_roles_and_records_both_ids(
    env, fresh_tenant, admin, dora
):
    report = actions.delete_users(identity=admin, users=[dora])
    assert report.failed == [] and report.done == [dora]
    assert all(u["user_id"] != dora.user_id for u in fresh_tenant.users())

    store = runtime.get_audit()
    (kept,) = deleted.kept_people(store)
    assert (kept.user_id, kept.email) == (dora.user_id, EMAIL)
    assert [r.name for r in kept.roles] == ["User Viewer"]
    fresh_tenant.clear_outbox()

    result = actions.recreate_deleted(identity=admin, kept_id=kept.kept_id)
    assert result.error is None, result.error
    assert result.new_user_id and result.new_user_id != dora.user_id

    new = runtime.get_directory().get_user(result.new_user_id)
    assert (new.email, new.name) == (EMAIL, "Dora Undo")
    assert new.user_metadata == {"theme": "dark", "lang": "de"} and new.app_metadata == {"plan": "gold"}
    assert new.connection == dora.connection
    assert runtime.get_directory().role_names(new.user_id) == ["User Viewer"]
    (mail,) = [m for m in fresh_tenant.outbox() if m["to"] == EMAIL]
    assert mail["user_id"] == new.user_id
    # the email's link sets a password, and the re-created person signs in with it (not the old one)
    assert fresh_tenant.reset_password(mail["link"], "Brand-new-pass-9!").status_code < 400
    assert "code=" in fresh_tenant.try_sign_in(EMAIL, "Brand-new-pass-9!").headers.get("location", "")
    assert fresh_tenant.try_sign_in(EMAIL, "Old-password-1").status_code == 401

    again = deleted.kept_person(store, kept.kept_id)
    assert again is not None and again.recreated_user_id == new.user_id
    (row,) = store.query(action="recreate").events
    assert row.state == "ok" and row.target_user_id == dora.user_id
    assert new.user_id in (row.message or "") and dora.user_id in (row.message or "")
    assert "Old-password" not in repr(store.deleted_profiles()) + (row.message or "")
    # a second re-creation of the same kept profile is refused in words
    assert "re-created already" in (
        actions.recreate_deleted(identity=admin, kept_id=kept.kept_id).error or ""
    )


def test_zero_days_keeps_nothing_and_the_delete_still_happens(env, fresh_tenant, admin, dora, monkeypatch):
    monkeypatch.setenv("DELETED_PROFILE_DAYS", "0")
    clear_app_caches()
    report = actions.delete_users(identity=admin, users=[dora])
    assert report.done == [dora]
    assert deleted.kept_people(runtime.get_audit()) == []


def test_a_viewer_cannot_recreate_below_the_ui(env, fresh_tenant, admin, dora):
    actions.delete_users(identity=admin, users=[dora])
    (kept,) = deleted.kept_people(runtime.get_audit())
    viewer = identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)
    with pytest.raises(NotAllowed):
        actions.recreate_deleted(identity=viewer, kept_id=kept.kept_id)
    with pytest.raises(NotAllowed):
        actions.purge_deleted_profiles(identity=viewer)
    assert all(u.get("email") != EMAIL for u in fresh_tenant.users())
    assert runtime.get_audit().query(action="recreate").events == []


def test_an_email_taken_meanwhile_is_auth0s_409_in_words(env, fresh_tenant, admin, dora):
    actions.delete_users(identity=admin, users=[dora])
    (kept,) = deleted.kept_people(runtime.get_audit())
    fresh_tenant.create_user(email=EMAIL, password="Another-1")
    result = actions.recreate_deleted(identity=admin, kept_id=kept.kept_id)
    assert result.new_user_id is None
    assert "already has a user with" in (result.error or "") and "The user already exists." in result.error
    (row,) = runtime.get_audit().query(action="recreate").events
    assert row.state == "error" and row.message == result.error


def test_a_social_user_is_kept_but_not_recreated(env, fresh_tenant, admin):
    social_id = fresh_tenant.support_examples()["social"][0]
    person = runtime.get_directory().get_user(social_id)
    actions.delete_users(identity=admin, users=[person])
    (kept,) = deleted.kept_people(runtime.get_audit())
    result = actions.recreate_deleted(identity=admin, kept_id=kept.kept_id)
    assert result.new_user_id is None and "a fresh profile at their next sign-in" in (result.error or "")


def test_a_profile_that_cannot_be_read_is_not_deleted(env, fresh_tenant, admin, dora):
    runtime.get_directory().actor_standing(admin.sub)
    fresh_tenant.add_fault(method="GET", path=f"/api/v2/users/{dora.user_id}/roles", times=1, status=503)
    report = actions.delete_users(identity=admin, users=[dora])
    ((_, message),) = report.failed
    assert "Not deleted" in message and "(HTTP 503)" in message
    assert any(u["user_id"] == dora.user_id for u in fresh_tenant.users())
    assert deleted.kept_people(runtime.get_audit()) == []


def test_purge_after_the_retention_on_the_first_page_load_and_then_daily(env, fresh_tenant, admin, dora):
    actions.delete_users(identity=admin, users=[dora])
    store = runtime.get_audit()
    with store.engine.begin() as conn:
        conn.execute(deleted_profiles.update().values(deleted_at=datetime.now(UTC) - timedelta(days=31)))
    runtime.purge_deleted_if_due()
    assert deleted.kept_people(store) == []


# --- every new call under the fault matrix ------------------------------------------------------------

RECREATE_CALLS = {
    "create": ("POST", "/api/v2/users", "nobody was re-created"),
    "roles": ("POST", "/api/v2/users/{id}/roles", "the roles could not be given back"),
    "reset": ("POST", "/dbconnections/change_password", "the password-reset email was not sent"),
}


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", list(RECREATE_CALLS))
def test_a_fault_on_a_recreate_call_is_a_sentence_and_an_error_row(
    env, fresh_tenant, admin, dora, call, kind
):
    actions.delete_users(identity=admin, users=[dora])
    (kept,) = deleted.kept_people(runtime.get_audit())
    runtime.get_directory().actor_standing(admin.sub)
    fault, expected = KINDS[kind]
    method, path, part = RECREATE_CALLS[call]
    if call == "roles":  # the new user's id is not known before: the prefix of every user's roles path
        path = "/api/v2/users/auth0"
    fresh_tenant.add_fault(method=method, path=path, times=1, **fault)
    result = actions.recreate_deleted(identity=admin, kept_id=kept.kept_id)
    message = result.error or ""
    if kind == "malformed" and call in ("roles", "reset"):
        expected = "not confirmed" if call == "roles" else "unexpectedly"
    assert expected in message, message
    assert "Traceback" not in message and "Error(" not in message
    if call == "create":
        assert result.new_user_id is None
    else:
        assert result.new_user_id and part in message and result.new_user_id in message
    (row,) = runtime.get_audit().query(action="recreate").events
    assert row.state == "error" and row.message == message


# --- the Audit page's "Deleted people" (AppTest) ------------------------------------------------------


def deleted_part(at: AppTest) -> str:
    """Every text the page shows (markdown, captions, headers, subheaders, errors), as the person reads it."""
    parts = [
        e.value for kind in ("markdown", "caption", "header", "subheader", "error") for e in getattr(at, kind)
    ]
    return "\n".join(visible(str(p)) for p in parts)


def test_the_audit_page_lists_deleted_people_and_recreates_one(sign_in, fresh_tenant, app_env):
    raw = fresh_tenant.create_user(
        email=EMAIL,
        name="Dora Undo",
        password="Old-password-1",
        user_metadata={"k": 1},
        roles=["User Viewer"],
    )
    at = sign_in("admin")
    admin = at.session_state[IDENTITY_KEY]
    person = runtime.get_directory().get_user(raw["user_id"])
    assert actions.delete_users(identity=admin, users=[person]).done
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    text = deleted_part(at)
    assert "Deleted people" in text and EMAIL in text
    (kept,) = deleted.kept_people(open_store(app_env))
    at.button(key=f"recreate:{kept.kept_id}").click().run()
    assert not at.exception
    assert any("Re-created" in t.value for t in at.toast), [t.value for t in at.toast]
    new = next(u for u in fresh_tenant.users() if u.get("email") == EMAIL)
    assert new["user_id"] != raw["user_id"]
    assert new["user_id"] in deleted_part(at)  # the listing shows the new id without a reload


def test_a_viewer_does_not_see_the_deleted_people(sign_in, fresh_tenant, app_env):
    """The Audit page is not in a viewer's menu at all (its address shows "Admins only", test_authorization)."""
    at = sign_in("viewer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py")
    assert "Deleted people" not in deleted_part(at)


def test_a_page_load_purges_profiles_past_the_retention(sign_in, fresh_tenant, app_env):
    """The first page load of the process purges (then at most once a day: PurgeClock)."""
    raw = fresh_tenant.create_user(email=EMAIL, name="Dora Undo", password="Old-password-1")
    store = open_store(app_env)
    person = runtime.get_directory().get_user(raw["user_id"])
    deleted.keep(store, user=person, roles=[], deleted_by="auth0|someone", days=30)
    with store.engine.begin() as conn:
        conn.execute(deleted_profiles.update().values(deleted_at=datetime.now(UTC) - timedelta(days=31)))
    at = sign_in("admin")
    assert not at.exception
    assert deleted.kept_people(store) == []
