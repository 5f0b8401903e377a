"""The support desk's calls against the dev tenant's support endpoints (logs, locks, tickets, MFA, sessions)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.auth0.support import is_failure
from admin_core.support import LOGS_PER_PAGE, LogPage, ResetLink
from tests.app.test_support_calls import FIXES, a_person, identity_of, requests, rows


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
