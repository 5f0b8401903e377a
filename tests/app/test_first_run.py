"""First run and a tenant configured wrong: the app says what to do, in words, never a traceback."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY
from admin_core.settings import SETTINGS
from tests.support.app_env import ROOT, app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.markdown import visible


def run_app(env: dict[str, str], monkeypatch, tmp_path, popup: FakePopup | None = None) -> AppTest:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no .env here: only the environment counts
    clear_app_caches()
    if popup:
        popup.install(monkeypatch)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()


@pytest.mark.parametrize("entry", ["app.py", "pages/users.py", "pages/overview.py"])
def test_no_settings_shows_the_two_ways_forward(monkeypatch, tmp_path, entry):
    for spec in SETTINGS:
        monkeypatch.setenv(spec.name, "")
    monkeypatch.chdir(tmp_path)
    clear_app_caches()
    at = AppTest.from_file(str(ROOT / entry), default_timeout=30).run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "make run" in text and ".env.example" in text
    assert any("AUTH0_DOMAIN is missing" in e.value for e in at.error)


def test_a_placeholder_names_the_variable(monkeypatch, tmp_path):
    env = {spec.name: "" for spec in SETTINGS}
    env.update(AUTH0_DOMAIN="your-tenant.eu.auth0.com", AUTH0_CLIENT_ID="abc", AUTH0_CLIENT_SECRET="def")
    at = run_app(env, monkeypatch, tmp_path)
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "AUTH0_DOMAIN still holds the placeholder" in error
    assert "make run" not in "\n".join(m.value for m in at.markdown)  # not a newcomer: just the fix


def test_bad_client_secret_is_named(fresh_tenant, monkeypatch, tmp_path):
    env = app_environment(fresh_tenant.base_url, tmp_path, AUTH0_CLIENT_SECRET="not-the-secret")
    at = run_app(env, monkeypatch, tmp_path, FakePopup(email="admin@example.com"))
    assert IDENTITY_KEY not in at.session_state
    assert any(
        "refused the app's client secret" in visible(i.value) and "AUTH0_CLIENT_SECRET" in visible(i.value)
        for i in at.info
    )


def test_missing_management_api_grant_is_named(fresh_tenant, monkeypatch, tmp_path):
    env = app_environment(
        fresh_tenant.base_url, tmp_path, AUTH0_CLIENT_ID="no-grant", AUTH0_CLIENT_SECRET="no-grant-secret"
    )
    at = run_app(env, monkeypatch, tmp_path, FakePopup(email="admin@example.com"))
    assert [t.value for t in at.title] == ["No access"]
    (error,) = [e.value for e in at.error]
    assert "not authorized for the Auth0 Management API" in error
    assert "Machine To Machine Applications" in error


def test_missing_scope_is_named(fresh_tenant, monkeypatch, tmp_path):
    env = app_environment(
        fresh_tenant.base_url,
        tmp_path,
        AUTH0_MGMT_CLIENT_ID="logs-only-m2m",  # a grant of read:logs alone cannot read anyone's roles
        AUTH0_MGMT_CLIENT_SECRET="logs-only-secret",
    )
    at = run_app(env, monkeypatch, tmp_path, FakePopup(email="admin@example.com"))
    (error,) = [e.value for e in at.error]
    # Auth0 accepts any one of the scopes it lists (shown as text: `visible` undoes the escaping).
    assert "It needs one of the scopes read:users, read:roles, read:role_members." in visible(error)


def test_wrong_callback_url_is_named_before_the_popup(fresh_tenant, monkeypatch, tmp_path):
    env = app_environment(
        fresh_tenant.base_url,
        tmp_path,
        AUTH0_CLIENT_ID="fixed-callback",
        AUTH0_CLIENT_SECRET="fixed-callback-secret",
    )
    popup = FakePopup(email="admin@example.com", clicks=0)
    at = run_app(env, monkeypatch, tmp_path, popup)
    (error,) = [e.value for e in at.error]
    assert "does not accept this app's callback URL" in error and "Allowed Callback URLs" in error
    assert not popup.urls  # no popup that would never come back
