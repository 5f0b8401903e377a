"""In a real browser: a signed-in session on an instance that gets SIGTERM reads RESTARTING there (with
"Sign in again" instead of the sign-in component, and `?restarted=1` in its address); the page opened
again on a new process at the same address (as a restarted pod, or the proxy's other instance) says it
too, once. A browser left on the sign-in screen of an instance that was killed signs in on the next one at
its first click. Chromium through Playwright."""

from __future__ import annotations

import signal
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from admin_core.shutdown import RESTARTING
from tests.browser.helpers import (
    ADMIN,
    SIGN_IN_TIMEOUT_MS,
    open_signed_out,
    page_text,
    script_runs,
    sign_in,
    sign_in_button,
    wait_idle,
)
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


def test_a_sign_in_screen_left_on_a_killed_instance_signs_in_on_the_next_one_at_the_first_click(
    fresh_tenant, tmp_path, monkeypatch
):
    """SIGKILL (no drain, nobody told): the browser keeps the dead session's sign-in button, whose popup
    would come back with a state that died with that process and be refused ("try again"). When the
    websocket reconnects to the next process at the same address, the sign-in screen's watch reruns it
    there (a script run on the new websocket), and the button it draws signs in at the first click."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    first = ClusterAppServer(fresh_tenant, tmp_path / "first", "first", SETTINGS, monkeypatch)
    second = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            page = browser.new_page()
            runs = script_runs(page)
            open_signed_out(page, first.app_url)
            wait_idle(page)
            on_first = len(runs)

            first.proc.kill()
            first.proc.wait(30)
            monkeypatch.setattr(app_server, "free_port", lambda: first.port)
            second = ClusterAppServer(fresh_tenant, tmp_path / "second", "second", SETTINGS, monkeypatch)
            # Streamlit's own back-off brings the websocket back (seconds); the watch's run follows at once.
            deadline = time.monotonic() + RECONNECT_TIMEOUT_MS / 1000
            while "FINISHED_SUCCESSFULLY" not in runs[on_first:]:
                assert time.monotonic() < deadline, f"no script run after the reconnect: {runs[on_first:]}"
                page.wait_for_timeout(100)
            wait_idle(page)
            assert sign_in(page, ADMIN)  # the password form, then the signed-in page: no "try again"
            assert "try again" not in page_text(page).lower()
            browser.close()
    finally:
        first.stop()
        if second is not None:
            second.stop()
