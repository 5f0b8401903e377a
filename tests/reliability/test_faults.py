"""Case 1: Auth0 faults on every call the app makes, injected through the dev tenant's /__dev/faults.

Each fault gives a clear message (an AdminError or SignInError, never a raw exception), shows no partial
state as success, records the error in the audit log for changes, and the next call after the fault
clears works.
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.auth0.users import Directory
from admin_core.domain import User, UserQuery
from admin_core.errors import AdminError
from admin_core.settings import load_settings
from admin_core.tokens import IdTokenVerifier
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.browserless import authorize

KINDS = {
    "401": {"status": 401},
    "403": {"status": 403},
    "404": {"status": 404},
    "409": {"status": 409},
    "429": {"status": 429, "headers": {"x-ratelimit-reset": str(int(time.time()) + 30)}},
    "500": {"status": 500},
    "503": {"status": 503},
    "timeout": {"delay_ms": 10_000},
    "dropped": {"drop": True},
    "malformed": {"malformed": True},
}

MANAGEMENT_MESSAGES = {
    "401": "did not accept the app's Management API token",
    "403": "missing a permission",
    "404": "no longer exists",
    "409": "conflict",
    "429": "rate limit",
    "500": "(HTTP 500)",
    "503": "(HTTP 503)",
    "timeout": "did not answer in time",
    "dropped": "Could not reach Auth0",
    "malformed": "could not read",
}
TOKEN_MESSAGES = {
    "401": "refused the app's client credentials",
    "403": "not authorized for the Auth0 Management API",
    "404": "could not issue a Management API token",
    "409": "could not issue a Management API token",
    "429": "rate limit",
    "500": "could not issue a Management API token",
    "503": "could not issue a Management API token",
    "timeout": "Could not reach Auth0 to get a Management API token",
    "dropped": "Could not reach Auth0 to get a Management API token",
    "malformed": "answered the token request without a token",
}
JWKS_MESSAGE = "could not fetch Auth0's signing keys"


@pytest.fixture
def env(fresh_tenant, tmp_path, monkeypatch):
    values = app_environment(fresh_tenant.base_url, tmp_path)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    yield values
    fresh_tenant.clear_faults()
    clear_app_caches()


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    user = next(u for u in fresh_tenant.users() if u["email"] == "admin@example.com")
    return Identity(
        sub=user["user_id"], email=user["email"], name=user.get("name"), picture=None,
        expires_at=int(time.time()) + 3600, role=Role.ADMIN,
    )  # fmt: skip


def a_user(tenant) -> User:
    raw = next(u for u in tenant.users() if not u["email"].endswith("@example.com") and not u.get("blocked"))
    return User(user_id=raw["user_id"], email=raw["email"], name=raw.get("name"))


def a_user_other(tenant, not_this: User) -> User:
    raw = next(
        u
        for u in tenant.users()
        if not u["email"].endswith("@example.com")
        and not u.get("blocked")
        and u["user_id"] != not_this.user_id
    )
    return User(user_id=raw["user_id"], email=raw["email"], name=raw.get("name"))


def warm(directory: Directory) -> None:
    directory.search_page(None, per_page=1)  # a token in hand, so the fault hits the call under test


def check_message(error: str, kind: str, table: dict[str, str], call: str) -> None:
    expected = table[kind]
    if call == "delete" and kind == "malformed":
        expected = "answered the deletion unexpectedly"
    assert expected in error, (call, kind, error)
    assert "Traceback" not in error and "Error(" not in error


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", ["list", "get", "roles"])
def test_read_faults(env, fresh_tenant, call, kind):
    directory = runtime.get_directory()
    warm(directory)
    user = a_user(fresh_tenant)
    run = {
        "list": lambda: directory.list_users(UserQuery(page=1)),
        "get": lambda: directory.get_user(user.user_id),
        "roles": lambda: directory.role_names(user.user_id),
    }[call]
    path = "/api/v2/users" if call == "list" else f"/api/v2/users/{user.user_id}"
    fresh_tenant.add_fault(method="GET", path=path, times=2, **KINDS[kind])
    with pytest.raises(AdminError) as caught:
        run()
    check_message(caught.value.message, kind, MANAGEMENT_MESSAGES, call)
    fresh_tenant.clear_faults()
    assert run() is not None


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", ["block", "delete"])
def test_change_faults(env, fresh_tenant, admin, call, kind):
    warm(runtime.get_directory())
    user = a_user(fresh_tenant)
    method = "PATCH" if call == "block" else "DELETE"
    fresh_tenant.add_fault(method=method, path="/api/v2/users/", times=2, **KINDS[kind])
    if call == "block":
        report = actions.set_blocked(identity=admin, user=user, blocked=True)
    else:
        report = actions.delete_users(identity=admin, users=[user])
    assert report.done == []  # nothing shown as success
    ((failed_user, message),) = report.failed
    assert failed_user == user
    check_message(message, kind, MANAGEMENT_MESSAGES, call)
    stored = next(u for u in fresh_tenant.users() if u["user_id"] == user.user_id)  # still there
    assert not stored.get("blocked")
    (row,) = runtime.get_audit().query(action=call).events
    assert (row.state, row.message, row.target_user_id) == ("error", message, user.user_id)
    fresh_tenant.clear_faults()
    if kind == "404":  # Auth0 said the user is gone: the app believes it; the next action is on someone else
        user = a_user_other(fresh_tenant, user)
    if call == "block":
        again = actions.set_blocked(identity=admin, user=user, blocked=True)
    else:
        again = actions.delete_users(identity=admin, users=[user])
    assert again.done == [user] and not again.failed


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
def test_token_faults(env, fresh_tenant, kind):
    directory = Directory.from_settings(load_settings(env, dotenv_path=None))
    fresh_tenant.add_fault(method="POST", path="/oauth/token", times=2, **KINDS[kind])
    with pytest.raises(AdminError) as caught:
        directory.list_users(UserQuery())
    check_message(caught.value.message, kind, TOKEN_MESSAGES, "token")
    assert fresh_tenant.stats()["requests"].get("GET /api/v2/users", 0) == 0
    fresh_tenant.clear_faults()
    assert directory.list_users(UserQuery()).users


@pytest.fixture
def id_token(fresh_tenant) -> tuple[str, str]:
    """A valid ID token from a real authorization-code sign-in at the dev tenant, with its nonce."""
    nonce = secrets.token_urlsafe(16)
    redirect = "http://localhost:8501/component/streamlit_oauth.authorize_button/index.html"
    query = httpx.QueryParams(
        response_type="code",
        client_id="dashboard",
        redirect_uri=redirect,
        scope="openid",
        nonce=nonce,
        state="s",
    )
    code = authorize(
        f"{fresh_tenant.base_url}/authorize?{query}", email="admin@example.com", password="devtenant"
    )
    answer = httpx.post(
        f"{fresh_tenant.base_url}/oauth/token",
        data={"grant_type": "authorization_code", "code": code["code"], "redirect_uri": redirect},
        auth=("dashboard", "dashboard-secret"),
    )
    return answer.json()["id_token"], nonce


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
def test_jwks_faults(env, fresh_tenant, id_token, kind):
    from admin_core.errors import SignInError

    settings = load_settings(env, dotenv_path=None)
    verifier = IdTokenVerifier(
        jwks_url=settings.jwks_url, issuer=settings.issuer, client_id=settings.client_id, timeout=3
    )
    token, nonce = id_token
    fresh_tenant.add_fault(method="GET", path="/.well-known/jwks.json", times=2, **KINDS[kind])
    with pytest.raises(SignInError) as caught:
        verifier.verify(token, nonce=nonce)
    assert JWKS_MESSAGE in caught.value.message, caught.value.message
    fresh_tenant.clear_faults()
    assert verifier.verify(token, nonce=nonce)["email"] == "admin@example.com"
