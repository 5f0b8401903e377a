"""In a real browser: a signed-in session on an instance that gets SIGTERM reads RESTARTING there (with
"Sign in again" instead of the sign-in component, and `?restarted=1` in its address); the page opened
again on a new process at the same address (as a restarted pod, or the proxy's other instance) says it
too, once. Chromium through Playwright."""

from __future__ import annotations

import signal
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from admin_core.shutdown import RESTARTING
from tests.browser.helpers import ADMIN, SIGN_IN_TIMEOUT_MS, page_text, sign_in, sign_in_button
from tests.cluster_state.test_shutdown import ClusterAppServer
from tests.support import app_server
from tests.support.chromium import CHROMIUM, LAUNCH_ARGS

pytestmark = pytest.mark.browser
RECONNECT_TIMEOUT_MS = 60_000

# Both processes accept the browser's XSRF cookie (as every instance of a cluster shares it).
SETTINGS = {"STREAMLIT_SERVER_COOKIE_SECRET": "cluster-state-test-cookie-secret"}


def says_restarting(page) -> None:
    """The sign-in screen's notice (md() puts invisible word joiners after ':'; the page text drops them)."""
    deadline = time.monotonic() + SIGN_IN_TIMEOUT_MS / 1000
    while RESTARTING not in page_text(page):
        assert time.monotonic() < deadline, page_text(page)
        page.wait_for_timeout(100)


def test_a_session_whose_instance_stops_is_told_there_and_after_the_reconnect(
    fresh_tenant, tmp_path, monkeypatch
):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    first = ClusterAppServer(fresh_tenant, tmp_path / "first", "first", SETTINGS, monkeypatch)
    second = None
    try:
        with sync_playwright() as playwright:  # closed before the test ends (later tests use asyncio.run)
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = browser.new_page()
            page.goto(first.app_url)
            sign_in(page, ADMIN)

            first.proc.send_signal(signal.SIGTERM)
            says_restarting(page)
            assert "restarted=1" in page.url
            expect(sign_in_button(page)).to_have_count(0)  # nobody signs in on an instance that stops
            assert first.proc.wait(30) == 0, first.output()

            monkeypatch.setattr(app_server, "free_port", lambda: first.port)
            second = ClusterAppServer(fresh_tenant, tmp_path / "second", "second", SETTINGS, monkeypatch)
            # The address is what survives: the page opened again (a reload, or "Sign in again" once the
            # browser has reconnected) lands on the new process, which says why, once.
            expect(page.get_by_role("button", name="Sign in again")).to_be_visible()
            page.reload()
            expect(sign_in_button(page)).to_be_visible(timeout=RECONNECT_TIMEOUT_MS)
            says_restarting(page)
            assert "restarted" not in page.url  # said once, on the instance it landed on
            browser.close()
    finally:
        first.stop()
        if second is not None:
            second.stop()
