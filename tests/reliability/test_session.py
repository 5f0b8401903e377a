"""Case 7: a session ends with its ID token; what the person clicks afterwards is not performed."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY
from tests.conftest import ROOT, app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant


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
            assert any("session has ended" in i.value for i in at.info)
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
