"""The support desk below the page: the person's file, logs and sessions (runtime), and each fix (actions).

Real HTTP against the dev tenant; request counts come from its `/__dev/stats`, audit rows from the real
SQLite audit log. Nothing of ours is stood in for.
"""

from __future__ import annotations

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.domain import User
from admin_core.errors import NotAllowed, UserGone
from admin_core.logcodes import is_failure
from admin_core.support import LogPage, PersonFile, Unavailable
from tests.app.test_audit_trail import changes, open_store
from tests.support.identities import identity_of

STAFF_EMAILS = {"admin@example.com", "viewer@example.com", "staff@example.com"}


def management_requests(tenant) -> int:
    return tenant.stats()["management_requests"]


def requests(tenant, route: str) -> int:
    return tenant.stats()["requests"].get(route, 0)


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)


@pytest.fixture
def viewer(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)


def a_person(tenant, **wanted) -> User:
    """A generated (non-staff) user of a database connection, matching `wanted` fields."""
    raw = next(
        u
        for u in tenant.users()
        if u.get("email") not in STAFF_EMAILS
        and u.get("email")
        and any(i.get("provider") == "auth0" for i in u.get("identities") or ())
        and all(u.get(k) == v for k, v in wanted.items())
    )
    return runtime.get_directory().get_user(raw["user_id"])


def audit_rows(env: dict) -> list:
    store = open_store(env)
    try:
        return changes(store)
    finally:
        store.close()


# --- the person's file ---------------------------------------------------------------------------------


PERSON_FILE_ROUTES = {
    "GET /api/v2/users/{id}": 1,
    "GET /api/v2/users/{id}/roles": 1,
    "GET /api/v2/users/{id}/logs": 1,
    "GET /api/v2/user-blocks/{id}": 1,
    "GET /api/v2/users/{id}/authentication-methods": 1,
}


def test_cold_person_file_costs_five_requests_one_each_and_warm_none(app_env, fresh_tenant):
    person = a_person(fresh_tenant)  # also fetches the token, so only the file's requests are counted
    before = fresh_tenant.stats()
    file = runtime.person_file(person.user_id)
    after = fresh_tenant.stats()
    assert after["management_requests"] - before["management_requests"] == 5
    assert {
        route: after["requests"][route] - before["requests"].get(route, 0) for route in PERSON_FILE_ROUTES
    } == PERSON_FILE_ROUTES
    assert isinstance(file, PersonFile) and file.user.user_id == person.user_id
    for section in (file.roles, file.logs, file.blocks, file.mfa):
        assert not isinstance(section, Unavailable), section
    before = management_requests(fresh_tenant)
    again = runtime.person_file(person.user_id)
    assert management_requests(fresh_tenant) - before == 0
    assert again == file


def test_a_person_who_does_not_exist_is_user_gone(app_env, fresh_tenant):
    with pytest.raises(UserGone):
        runtime.person_file("auth0|nobody-here")


def test_a_failing_section_is_unavailable_in_words_and_asked_again_next_view(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    fresh_tenant.add_fault(method="GET", path=f"/api/v2/users/{person.user_id}/roles", status=503, times=1)
    file = runtime.person_file(person.user_id)
    assert isinstance(file.roles, Unavailable)
    assert "roles could not be read" in file.roles.message and "HTTP 503" in file.roles.message
    assert file.user.user_id == person.user_id  # the rest of the page works
    before = requests(fresh_tenant, "GET /api/v2/users/{id}/roles")
    file = runtime.person_file(person.user_id)
    assert requests(fresh_tenant, "GET /api/v2/users/{id}/roles") == before + 1  # not cached as failed
    assert isinstance(file.roles, tuple)


def test_forget_person_makes_the_next_view_ask_again(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    runtime.person_file(person.user_id)
    runtime.forget_person(person.user_id)
    before = management_requests(fresh_tenant)
    runtime.person_file(person.user_id)
    assert management_requests(fresh_tenant) - before >= 1


# --- the logs --------------------------------------------------------------------------------------------


def test_logs_page_zero_is_the_person_files_page_and_costs_nothing_more(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    file = runtime.person_file(person.user_id)
    before = management_requests(fresh_tenant)
    page = runtime.person_logs(person.user_id, page=0, failures_only=False)
    assert management_requests(fresh_tenant) - before == (1 if isinstance(file.logs, Unavailable) else 0)
    if isinstance(file.logs, LogPage):
        assert page == file.logs


def test_log_failure_codes():
    assert all(is_failure(c) for c in ("f", "fp", "fu", "limit_wc", "limit_mu", "gd_auth_failed", "pwd_leak"))
    assert not any(is_failure(c) for c in ("s", "ss", "slo", "sv", "scp", "seccft"))


# --- the fixes: who may, what is audited -------------------------------------------------------------


def rows(env: dict, action: str) -> list:
    store = open_store(env)
    try:
        return store.query(action=action, per_page=1000).events
    finally:
        store.close()


FIXES = {
    "unlock": actions.unlock,
    "password_reset_email": actions.send_password_reset,
    "password_reset_link": actions.create_reset_link,
    "verification_email": actions.resend_verification,
    "mark_verified": actions.mark_verified,
    "reset_mfa": actions.reset_mfa,
    "forget_browsers": actions.forget_browsers,
    "sign_out_everywhere": actions.sign_out_everywhere,
}


@pytest.mark.parametrize("action", list(FIXES))
def test_a_viewer_is_refused_every_fix_below_the_ui(app_env, fresh_tenant, viewer, action):
    person = a_person(fresh_tenant)
    before = management_requests(fresh_tenant)
    with pytest.raises(NotAllowed) as refused:
        FIXES[action](identity=viewer, user=person)
    assert refused.value.message == "Only admins can change users."
    assert management_requests(fresh_tenant) == before  # Auth0 never asked
    assert rows(app_env, action) == []


def test_an_admin_cannot_reset_their_own_mfa(app_env, fresh_tenant, admin):
    me = runtime.get_directory().get_user(admin.sub)
    report = actions.reset_mfa(identity=admin, user=me)
    assert report.done == []
    ((_, message),) = report.failed
    assert message == "You cannot reset your own MFA here. Ask another admin."
    assert requests(fresh_tenant, "DELETE /api/v2/users/{id}/authenticators") == 0
    (row,) = rows(app_env, "reset_mfa")
    assert row.state == "error" and row.message == message and row.target_user_id == admin.sub


def test_mark_verified_sets_the_flag_audits_and_refreshes_the_page(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant, email_verified=False)
    assert runtime.person_file(person.user_id).user.email_verified is False
    report = actions.mark_verified(identity=admin, user=person)
    assert report.done == [person] and report.failed == []
    assert runtime.person_file(person.user_id).user.email_verified is True  # forgotten, read again
    (row,) = rows(app_env, "mark_verified")
    assert (row.state, row.actor_sub, row.target_user_id) == ("ok", admin.sub, person.user_id)


def test_a_password_reset_email_needs_a_database_connection(app_env, fresh_tenant, admin):
    social = next(
        u
        for u in fresh_tenant.users()
        if u.get("identities") and all(i.get("provider") != "auth0" for i in u["identities"])
    )
    person = runtime.get_directory().get_user(social["user_id"])
    report = actions.send_password_reset(identity=admin, user=person)
    ((_, message),) = report.failed
    assert "no password to reset here" in message
    (row,) = rows(app_env, "password_reset_email")
    assert row.state == "error"
