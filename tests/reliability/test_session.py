"""Case 7: a session ends with its ID token, after SESSION_MAX_HOURS, or after SESSION_IDLE_MINUTES without
activity; what the person clicks afterwards is not performed, and the sign-in screen says which limit.

The limits are tested without waiting: the session's `signed_in_at` and last activity are test data, set
in the past."""

from __future__ import annotations

import dataclasses
import time

import pytest
from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY, LAST_SEEN_KEY
from tests.app.test_authorization import DELETES, SIGN_IN_TITLE, first_card_target, infos, requests
from tests.support.app_env import ROOT, app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant
from tests.support.markdown import visible


@pytest.mark.case("7 session")
def test_after_the_id_token_expires_a_click_asks_for_sign_in_and_does_nothing(tmp_path, monkeypatch):
    with DevTenant(users=30, id_token_ttl=3) as tenant:
        for key, value in app_environment(tenant.base_url, tmp_path).items():
            monkeypatch.setenv(key, value)
        clear_app_caches()
        try:
            FakePopup(email="admin@example.com").install(monkeypatch)
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
            identity = at.session_state[IDENTITY_KEY]
            assert identity.expires_at - time.time() <= 3
            target = next(b.key for b in at.button if b.key and b.key.startswith("block:"))
            time.sleep(max(0.0, identity.expires_at - time.time()) + 0.5)
            FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
            before = tenant.stats()["management_requests"]
            at.button(key=target).click().run()
            assert IDENTITY_KEY not in at.session_state
            assert [t.value for t in at.title] == ["Auth0 User Admin"]
            assert any("session has ended" in visible(i.value) for i in at.info)
            assert tenant.stats()["management_requests"] == before
            assert "PATCH /api/v2/users/{id}" not in tenant.stats()["requests"]
        finally:
            clear_app_caches()


@pytest.mark.case("7 session")
def test_two_sessions_never_share_a_sign_in(sign_in, monkeypatch):
    admin = sign_in("admin")
    FakePopup(email="viewer@example.com").install(monkeypatch)
    viewer = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert admin.session_state[IDENTITY_KEY].email == "admin@example.com"
    assert viewer.session_state[IDENTITY_KEY].email == "viewer@example.com"
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    stranger = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert IDENTITY_KEY not in stranger.session_state
    assert [t.value for t in stranger.title] == ["Auth0 User Admin"]


@pytest.mark.case("7 session")
def test_30_minutes_without_activity_sign_out_and_the_click_does_nothing(sign_in, fresh_tenant, monkeypatch):
    at = sign_in("admin")
    target = first_card_target(at, fresh_tenant)
    at.session_state[LAST_SEEN_KEY] = time.time() - 30 * 60 - 1
    popup = FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    before = fresh_tenant.stats()["management_requests"]
    at.button(key=f"block:{target['user_id']}").click().run()

    assert not at.exception
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == SIGN_IN_TITLE
    assert infos(at) == ["You were signed out after 30 minutes without activity. Sign in again to continue."]
    assert fresh_tenant.stats()["management_requests"] == before
    assert "prompt=login" in popup.urls[-1]  # the next sign-in asks for the password


@pytest.mark.case("7 session")
def test_activity_keeps_the_session_and_the_idle_limit_is_a_setting(sign_in, fresh_tenant, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "5")
    clear_app_caches()
    at = sign_in("admin")
    at.session_state[LAST_SEEN_KEY] = time.time() - 4 * 60
    at.run()
    assert at.session_state[IDENTITY_KEY].email == "admin@example.com"
    assert at.session_state[LAST_SEEN_KEY] > time.time() - 60  # this run counted as activity
    at.session_state[LAST_SEEN_KEY] = time.time() - 5 * 60
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    at.run()
    assert IDENTITY_KEY not in at.session_state
    assert infos(at) == ["You were signed out after 5 minutes without activity. Sign in again to continue."]


@pytest.mark.case("7 session")
def test_a_session_lasts_at_most_8_hours_however_active(sign_in, fresh_tenant, monkeypatch):
    at = sign_in("admin")
    target = first_card_target(at, fresh_tenant)
    at.button(key=f"delete:{target['user_id']}").click().run()
    identity = at.session_state[IDENTITY_KEY]
    at.session_state[IDENTITY_KEY] = dataclasses.replace(identity, signed_in_at=time.time() - 8 * 3600 - 1)
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    before = fresh_tenant.stats()["management_requests"]
    at.button(key="confirm.delete").click().run()

    assert not at.exception
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == SIGN_IN_TITLE
    assert infos(at) == ["You were signed out: sessions last at most 8 hours. Sign in again to continue."]
    assert fresh_tenant.stats()["management_requests"] == before
    assert requests(fresh_tenant, DELETES) == 0


@pytest.mark.case("7 session")
def test_the_account_page_names_the_session_limits(sign_in):
    at = sign_in("admin", page="pages/account.py")
    assert [c.value for c in at.caption if c.value.startswith("Your session")] == [
        "Your session ends 8 h after you signed in, after 30 minutes without activity, when your Auth0 "
        "sign-in expires, or when you reload the page."
    ]
