"""The support desk's calls against the dev tenant's support endpoints (logs, locks, tickets, MFA, sessions)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.errors import AdminError
from admin_core.logcodes import is_failure
from admin_core.support import GRANT_PLACE, LOGS_CAP, LOGS_PER_PAGE, LogPage, ResetLink, Unavailable
from tests.app.test_support_calls import FIXES, a_person, requests, rows
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.identities import identity_of


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)


def test_logs_failures_only_keeps_only_failed_attempts(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    page = runtime.person_logs(person.user_id, page=0, failures_only=True)
    assert isinstance(page, LogPage), page
    assert all(is_failure(e.type) for e in page.events)
    assert page.per_page == LOGS_PER_PAGE


# --- the fixes against the dev tenant's support endpoints ----------------------------------------------


def test_unlock_lifts_the_brute_force_locks(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    report = actions.unlock(identity=admin, user=person)
    assert report.failed == [] and report.done == [person]
    assert requests(fresh_tenant, "DELETE /api/v2/user-blocks/{id}") == 1
    file = runtime.person_file(person.user_id)
    assert file.blocks == ()
    (row,) = rows(app_env, "unlock")
    assert row.state == "ok"


def test_send_password_reset_email_is_audited(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    report = actions.send_password_reset(identity=admin, user=person)
    assert report.failed == [] and report.done == [person]
    (row,) = rows(app_env, "password_reset_email")
    assert row.state == "ok"


def test_a_reset_link_is_returned_once_and_never_audited_or_logged(app_env, fresh_tenant, admin, caplog):
    person = a_person(fresh_tenant)
    with caplog.at_level(logging.DEBUG):
        link = actions.create_reset_link(identity=admin, user=person)
    assert isinstance(link, ResetLink) and link.url.startswith("http")
    assert link.expires_at > datetime.now(UTC) + timedelta(hours=23)
    assert link.url not in repr(link)
    (row,) = rows(app_env, "password_reset_link")
    assert row.state == "ok"
    assert link.url not in repr(row) and link.url not in caplog.text
    ticket = link.url.split("ticket=")[-1].split("&")[0]
    assert ticket not in caplog.text and ticket not in repr(row)


@pytest.mark.parametrize(
    ("action", "route"),
    [
        ("verification_email", "POST /api/v2/jobs/verification-email"),
        ("reset_mfa", "DELETE /api/v2/users/{id}/authenticators"),
        ("forget_browsers", "POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser"),
    ],
)
def test_each_fix_calls_auth0_once_and_is_audited(app_env, fresh_tenant, admin, action, route):
    person = a_person(fresh_tenant)
    report = FIXES[action](identity=admin, user=person)
    assert report.failed == [] and report.done == [person]
    assert requests(fresh_tenant, route) == 1
    (row,) = rows(app_env, action)
    assert (row.state, row.actor_sub, row.target_user_id) == ("ok", admin.sub, person.user_id)


def test_sign_out_everywhere_ends_sessions_and_revokes_refresh_tokens(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    report = actions.sign_out_everywhere(identity=admin, user=person)
    assert report.failed == [] and report.done == [person]
    assert requests(fresh_tenant, "DELETE /api/v2/users/{id}/sessions") == 1
    assert requests(fresh_tenant, "DELETE /api/v2/users/{id}/refresh-tokens") == 1
    (row,) = rows(app_env, "sign_out_everywhere")
    assert row.state == "ok"


def test_sign_out_everywhere_says_which_part_failed(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    fresh_tenant.add_fault(method="DELETE", path=f"/api/v2/users/{person.user_id}/refresh-tokens", status=503)
    report = actions.sign_out_everywhere(identity=admin, user=person)
    ((_, message),) = report.failed
    assert message.startswith("Sessions were ended, but the refresh tokens could not be revoked")
    assert "HTTP 503" in message
    (row,) = rows(app_env, "sign_out_everywhere")
    assert row.state == "error" and row.message == message


def test_sessions_are_read_only_when_asked(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    runtime.person_file(person.user_id)
    assert requests(fresh_tenant, "GET /api/v2/users/{id}/sessions") == 0
    sessions = runtime.person_sessions(person.user_id)
    assert isinstance(sessions, tuple), sessions
    assert requests(fresh_tenant, "GET /api/v2/users/{id}/sessions") == 1


# --- what the fixes do, read back from the dev tenant ----------------------------------------------------


def person_by_id(user_id: str):
    return runtime.get_directory().get_user(user_id)


def test_a_locked_person_shows_the_lock_and_unlock_lets_them_sign_in(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    password = fresh_tenant.support_state(person.user_id)["password"]
    fresh_tenant.lock(person.user_id, ip="127.0.0.1")
    assert fresh_tenant.try_sign_in(person.email, password).status_code != 302
    file = runtime.person_file(person.user_id)
    assert [b.ip for b in file.blocks] == ["127.0.0.1"]
    assert any(e.type == "limit_wc" or e.type == "fp" for e in file.logs.events)
    assert actions.unlock(identity=admin, user=person).done == [person]
    assert runtime.person_file(person.user_id).blocks == ()  # forgotten after the fix, read again
    assert fresh_tenant.try_sign_in(person.email, password).status_code == 302


def test_failures_only_shows_the_failed_attempts_of_a_failing_person(app_env, fresh_tenant):
    failing = fresh_tenant.support_examples(n=1)["failing"][0]
    everything = runtime.person_logs(failing, page=0, failures_only=False)
    failures = runtime.person_logs(failing, page=0, failures_only=True)
    assert isinstance(everything, LogPage) and isinstance(failures, LogPage)
    assert failures.events and all(is_failure(e.type) for e in failures.events)
    assert [e for e in everything.events if is_failure(e.type)] == list(failures.events)
    assert failures.total == everything.total  # the page keeps Auth0's numbering
    dates = [e.date for e in everything.events]
    assert all(d is not None and d.tzinfo for d in dates) and dates == sorted(
        dates, reverse=True
    )  # newest first
    assert all(e.log_id and e.type for e in everything.events)


def test_the_reset_email_and_the_verification_email_reach_the_outbox(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    fresh_tenant.clear_outbox()
    actions.send_password_reset(identity=admin, user=person)
    actions.resend_verification(identity=admin, user=person)
    mails = [(m["to"], m["kind"]) for m in fresh_tenant.outbox()]
    assert len(mails) == 2 and all(to == person.email for to, _ in mails), mails


def test_a_reset_link_lets_the_person_set_a_new_password(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    link = actions.create_reset_link(identity=admin, user=person)
    answer = fresh_tenant.reset_password(link.url, "A-new-passw0rd!")
    assert answer.status_code < 400, answer.text[:300]
    assert fresh_tenant.try_sign_in(person.email, "A-new-passw0rd!").status_code == 302


def test_reset_mfa_removes_the_enrollments(app_env, fresh_tenant, admin):
    enrolled = person_by_id(fresh_tenant.support_examples(n=1)["mfa"][0])
    methods = runtime.person_file(enrolled.user_id).mfa
    assert methods and all(m.method_id and m.type and m.created_at for m in methods), methods
    assert actions.reset_mfa(identity=admin, user=enrolled).done == [enrolled]
    assert runtime.person_file(enrolled.user_id).mfa == ()


def test_sign_out_everywhere_leaves_no_session(app_env, fresh_tenant, admin):
    person = person_by_id(fresh_tenant.support_examples(n=1)["sessions"][0])
    sessions = runtime.person_sessions(person.user_id)
    assert sessions and all(s.session_id and s.created_at for s in sessions), sessions
    assert actions.sign_out_everywhere(identity=admin, user=person).done == [person]
    assert runtime.person_sessions(person.user_id) == ()


# --- plans and missing scopes -------------------------------------------------------------------------


def test_sessions_off_an_enterprise_plan_say_so_and_the_rest_works(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    fresh_tenant.set_plan("professional")
    sessions = runtime.person_sessions(person.user_id)
    assert isinstance(sessions, Unavailable) and sessions.scope is None
    assert "Enterprise plans only" in sessions.message
    file = runtime.person_file(person.user_id)
    assert not any(isinstance(s, Unavailable) for s in (file.roles, file.logs, file.blocks, file.mfa))
    report = actions.sign_out_everywhere(identity=admin, user=person)
    ((_, message),) = report.failed
    assert "Enterprise plans only" in message


@pytest.fixture
def narrow_env(fresh_tenant, tmp_path, monkeypatch):
    """The app with a Management API grant of only the four old scopes (the dev tenant's narrow-m2m)."""
    values = app_environment(
        fresh_tenant.base_url,
        tmp_path,
        AUTH0_MGMT_CLIENT_ID="narrow-m2m",
        AUTH0_MGMT_CLIENT_SECRET="narrow-secret",
    )
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    yield values
    clear_app_caches()


def test_a_narrow_grant_names_the_missing_scope_per_section_and_the_rest_works(narrow_env, fresh_tenant):
    person = a_person(fresh_tenant)
    file = runtime.person_file(person.user_id)
    assert file.user.user_id == person.user_id and isinstance(file.roles, tuple)
    assert isinstance(file.blocks, tuple)  # read:users is enough for the locks
    assert isinstance(file.logs, Unavailable) and file.logs.scope == "read:logs", file.logs
    assert "needs the Management API scope read:logs" in file.logs.message
    assert GRANT_PLACE in file.logs.message
    assert not isinstance(file.mfa, Unavailable)  # read:users reads the Guardian enrollments instead
    sessions = runtime.person_sessions(person.user_id)
    assert isinstance(sessions, Unavailable) and sessions.scope == "read:sessions"


def test_a_grant_without_read_authentication_methods_lists_mfa_through_guardian_enrollments(
    narrow_env, fresh_tenant
):
    enrolled = fresh_tenant.support_examples(n=1)["mfa"][0]
    kinds = sorted(fresh_tenant.support_state(enrolled)["mfa"])
    before = fresh_tenant.stats()["management_requests"]
    methods = runtime.person_file(enrolled).mfa
    assert not isinstance(methods, Unavailable), methods
    assert sorted(m.type for m in methods) == kinds  # in the authentication-methods API's words
    assert all(m.method_id and m.created_at and m.confirmed is not None for m in methods), methods
    # one refused authentication-methods request and one enrollments request on top of the other four
    assert fresh_tenant.stats()["management_requests"] - before == 6


@pytest.mark.parametrize(
    ("fix", "scope"),
    [
        ("password_reset_link", "create:user_tickets"),
        ("reset_mfa", "delete:guardian_enrollments"),
        ("sign_out_everywhere", "delete:sessions"),
    ],
)
def test_a_narrow_grant_names_the_scope_a_fix_needs(narrow_env, fresh_tenant, fix, scope):
    narrow_admin = identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)
    person = a_person(fresh_tenant)
    if fix == "password_reset_link":
        with pytest.raises(AdminError) as caught:
            actions.create_reset_link(identity=narrow_admin, user=person)
        message = caught.value.message
    else:
        ((_, message),) = FIXES[fix](identity=narrow_admin, user=person).failed
    assert scope in message and "Machine To Machine Applications" in message


def test_log_pages_past_auth0s_cap_are_explained_without_a_request(app_env, fresh_tenant):
    person = a_person(fresh_tenant)
    before = requests(fresh_tenant, "GET /api/v2/users/{id}/logs")
    page = runtime.person_logs(person.user_id, page=LOGS_CAP // LOGS_PER_PAGE, failures_only=False)
    assert isinstance(page, Unavailable) and "newest 1000 entries" in page.message
    assert requests(fresh_tenant, "GET /api/v2/users/{id}/logs") == before
    last = runtime.person_logs(person.user_id, page=LOGS_CAP // LOGS_PER_PAGE - 1, failures_only=False)
    assert isinstance(last, LogPage)


def test_no_reset_link_for_a_person_without_a_password_here(app_env, fresh_tenant, admin):
    social = person_by_id(fresh_tenant.support_examples(n=1)["social"][0])
    before = requests(fresh_tenant, "POST /api/v2/tickets/password-change")
    with pytest.raises(AdminError) as refused:
        actions.create_reset_link(identity=admin, user=social)
    assert "no password to reset here" in refused.value.message
    assert requests(fresh_tenant, "POST /api/v2/tickets/password-change") == before
    (row,) = rows(app_env, "password_reset_link")
    assert row.state == "error"


def test_a_request_auth0_refuses_is_not_called_a_search(app_env, fresh_tenant, admin):
    person = a_person(fresh_tenant)
    body = {"statusCode": 400, "error": "Bad Request", "message": "The user's email is already verified."}
    fresh_tenant.add_fault(
        method="POST", path="/api/v2/jobs/verification-email", status=400, body=body, times=1
    )
    ((_, message),) = actions.resend_verification(identity=admin, user=person).failed
    assert message == "Auth0 refused the request: The user's email is already verified."
