"""Each fault kind on each support-desk call gives a sentence, and the rest of the person's page works.

Faults are injected by the dev tenant (`/__dev/faults`, prefix match on the path) on one call at a time:
a read section becomes `Unavailable` with the words (and the other sections still read), a fix reports
its failure in words and its audit row says "error". Timeouts use a 1 s client timeout, so nothing waits
long.
"""

from __future__ import annotations

import time

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity
from admin_core.domain import User
from admin_core.errors import AdminError
from admin_core.support import Unavailable
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.identities import identity_of

pytestmark = pytest.mark.case("1 Auth0 faults")

KINDS = {
    "503": ({"status": 503}, "(HTTP 503)"),
    "429": ({"status": 429, "headers": {"x-ratelimit-reset": str(int(time.time()) + 30)}}, "rate limit"),
    "timeout": ({"delay_ms": 3_000}, "did not answer in time"),
    "dropped": ({"drop": True}, "Could not reach Auth0"),
    "malformed": ({"malformed": True}, "could not read"),
}

# section of the person's file -> the path its request goes to
SECTIONS = {
    "roles": "/api/v2/users/{id}/roles",
    "logs": "/api/v2/users/{id}/logs",
    "blocks": "/api/v2/user-blocks/{id}",
    "mfa": "/api/v2/users/{id}/authentication-methods",
}

# fix -> (method, path prefix, times: how many requests it makes that the fault must cover)
FIX_CALLS = {
    "unlock": ("DELETE", "/api/v2/user-blocks/{id}", 1),
    "password_reset_email": ("POST", "/dbconnections/change_password", 1),
    "password_reset_link": ("POST", "/api/v2/tickets/password-change", 1),
    "verification_email": ("POST", "/api/v2/jobs/verification-email", 1),
    "mark_verified": ("PATCH", "/api/v2/users/{id}", 1),
    "reset_mfa": ("DELETE", "/api/v2/users/{id}/authenticators", 1),
    "forget_browsers": ("POST", "/api/v2/users/{id}/multifactor", 1),
    "sign_out_everywhere": ("DELETE", "/api/v2/users/{id}/", 2),  # sessions and refresh tokens
}
# Fixes Auth0 confirms with an empty answer (204/202, or plain text for the reset email): a malformed 200
# is not a confirmation, and says so.
EMPTY_ANSWER = {"unlock", "password_reset_email", "reset_mfa", "forget_browsers", "sign_out_everywhere"}
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


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com")


def a_person(tenant) -> User:
    raw = next(
        u
        for u in tenant.users()
        if not u["email"].endswith("@example.com")
        and not u.get("blocked")
        and any(i.get("provider") == "auth0" for i in u.get("identities") or ())
    )
    return runtime.get_directory().get_user(raw["user_id"])  # also: a token in hand before the fault


def audit_rows(env: dict, action: str) -> list:
    from tests.app.test_audit_trail import open_store

    store = open_store(env)
    try:
        return store.query(action=action, per_page=100).events
    finally:
        store.close()


def assert_sentence(message: str, expected: str) -> None:
    assert expected in message, message
    assert "Traceback" not in message and "Error(" not in message


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("section", list(SECTIONS))
def test_a_fault_on_one_section_leaves_the_rest_of_the_page(env, fresh_tenant, section, kind):
    person = a_person(fresh_tenant)
    fault, expected = KINDS[kind]
    path = SECTIONS[section].format(id=person.user_id)
    fresh_tenant.add_fault(method="GET", path=path, times=1, **fault)
    file = runtime.person_file(person.user_id)
    broken = getattr(file, section)
    assert isinstance(broken, Unavailable), broken
    assert_sentence(broken.message, expected)
    assert file.user.user_id == person.user_id
    others = {name: getattr(file, name) for name in SECTIONS if name != section}
    assert not any(isinstance(v, Unavailable) for v in others.values()), others
    fresh_tenant.clear_faults()
    assert not isinstance(getattr(runtime.person_file(person.user_id), section), Unavailable)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_fault_on_the_sessions_is_a_sentence(env, fresh_tenant, kind):
    person = a_person(fresh_tenant)
    fault, expected = KINDS[kind]
    fresh_tenant.add_fault(method="GET", path=f"/api/v2/users/{person.user_id}/sessions", times=1, **fault)
    sessions = runtime.person_sessions(person.user_id)
    assert isinstance(sessions, Unavailable)
    assert_sentence(sessions.message, expected)
    fresh_tenant.clear_faults()
    assert isinstance(runtime.person_sessions(person.user_id), tuple)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fix", list(FIXES))
def test_a_fault_on_a_fix_is_a_sentence_and_an_error_row(env, fresh_tenant, admin, fix, kind):
    person = a_person(fresh_tenant)
    runtime.get_directory().actor_standing(admin.sub)  # the actor's check is not the call under test
    fault, expected = KINDS[kind]
    method, path, times = FIX_CALLS[fix]
    fresh_tenant.add_fault(method=method, path=path.format(id=person.user_id), times=times, **fault)
    if fix == "password_reset_link":
        with pytest.raises(AdminError) as caught:
            actions.create_reset_link(identity=admin, user=person)
        message = caught.value.message
    else:
        report = FIXES[fix](identity=admin, user=person)
        assert report.done == []
        ((_, message),) = report.failed
    if kind == "malformed" and fix in EMPTY_ANSWER:
        expected = "not confirmed"
    assert_sentence(message, expected)
    (row,) = audit_rows(env, fix)
    assert row.state == "error" and row.message == message
    fresh_tenant.clear_faults()
    file = runtime.person_file(person.user_id)  # the page reads again and works
    assert file.user.user_id == person.user_id


@pytest.fixture
def free_plan_env(tmp_path, monkeypatch):
    """A dev tenant with Auth0's Free-plan rate limit (burst 2, then 2 per second), the app pointed at it."""
    from tests.support.devtenant_proc import DevTenant

    with DevTenant(users=20, rate_limit="free") as tenant:
        values = app_environment(tenant.base_url, tmp_path)
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        clear_app_caches()
        yield tenant
        clear_app_caches()


def test_on_a_free_plan_the_five_requests_are_paced_not_refused(free_plan_env):
    """Burst 2: issuing the five at once would draw 429s; paced by the rate headers, every section reads."""
    tenant = free_plan_env
    person = a_person(tenant)
    file = runtime.person_file(person.user_id)
    sections = {name: getattr(file, name) for name in SECTIONS}
    assert not any(isinstance(v, Unavailable) for v in sections.values()), sections
