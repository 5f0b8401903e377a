"""Parts 4-5 of the bench: headless Chromium (Debian's, via Playwright) against a real `streamlit run`.

4. "Users" navigation click -> the grid visible; delete confirmed -> the toast visible.
5. Peak RSS of the Streamlit process (children included) with 1 and with 20 signed-in sessions on the
   Users page, and the growth per additional session.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from pathlib import Path

import psutil

from tests.browser.helpers import ADMIN, open_signed_out, sign_in, wait_idle
from tests.support.app_server import AppServer
from tests.support.chromium import CHROMIUM, LAUNCH_ARGS
from tests.support.devtenant_proc import DevTenant

MB = 1024 * 1024

# Conditions checked in the page on every animation frame (so the time is not rounded to a poll interval).
GRID_VISIBLE = """() => {
  const shown = [...document.querySelectorAll('[data-testid="stButton"] button')]
    .filter(b => b.innerText.trim() === 'Details' && b.offsetParent !== null);
  const app = document.querySelector('[data-testid="stApp"]');
  return shown.length >= 24 && !!document.querySelector('h1') &&
    [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === 'Users');
}"""
TOAST_VISIBLE = """(email) => [...document.querySelectorAll('[data-testid="stToast"]')]
  .some(t => t.innerText.replaceAll('\\u2060', '').includes('Deleted ' + email) && t.offsetParent !== null)"""
# (The app puts an invisible word joiner after '@' in shown emails, so they never become mailto: links.)


class PeakSampler:
    """Samples a server's RSS every 50 ms in a thread; `peak()` since the last `reset()`."""

    def __init__(self, server: AppServer, interval: float = 0.05):
        self.server = server
        self.interval = interval
        self._peak = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                value = self.server.rss()
            except psutil.Error:
                return
            with self._lock:
                self._peak = max(self._peak, value)
            self._stop.wait(self.interval)

    def peak(self) -> int:
        with self._lock:
            return max(self._peak, self.server.rss())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    return context, context.new_page()


def _wait(page, condition: str, arg=None, timeout_ms: float = 30_000) -> None:
    page.wait_for_function(condition, arg=arg, polling="raf", timeout=timeout_ms)


# In-page timing: the click's own timestamp (a capturing listener) to the first animation frame on which the
# condition holds, both `performance.now()` in the page. That leaves out Playwright's actionability checks and
# its round trips to the browser, which on a loaded 2-core machine add 0.1-0.3 s that no person waits for.
ARM = """() => {
  window.__benchClick = null; window.__benchSeen = null;
  document.addEventListener('click', () => { window.__benchClick = performance.now(); },
                            {capture: true, once: true});
}"""
SEEN = """([condition, arg]) => {
  const ok = (eval(condition))(arg);
  if (ok && window.__benchSeen === null) window.__benchSeen = performance.now();
  return ok;
}"""


def _click_until(page, target, condition: str, arg=None) -> tuple[float, float]:
    """Click `target`, wait for `condition`; (in-page seconds from the click to it, wall seconds as driven)."""
    page.evaluate(ARM)
    started = time.perf_counter()
    target.click()
    page.wait_for_function(SEEN, arg=[condition, arg], polling="raf", timeout=30_000)
    wall = time.perf_counter() - started
    in_page = page.evaluate("() => (window.__benchSeen - window.__benchClick) / 1000")
    return in_page, wall


def _nav(page, name: str):
    return page.get_by_role("link", name=name, exact=True).first


def timings(tenant: DevTenant, workdir: Path, *, deletes: int = 3, navigations: int = 5) -> dict:
    """Click-to-visible times in Chromium against a fresh server (one signed-in admin)."""
    from playwright.sync_api import sync_playwright

    server = AppServer(tenant, workdir, "bench")
    try:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            try:
                context, page = _new_page(browser)
                open_signed_out(page, server.url("/"))
                sign_in(page, ADMIN)
                _wait(page, GRID_VISIBLE)
                wait_idle(page)

                # Delete through the dialog: from the confirming click to the toast.
                delete_times, delete_walls = [], []
                for _ in range(deletes):
                    page.get_by_role("button", name="Delete", exact=True).first.click()
                    dialog = page.get_by_role("dialog")
                    dialog.get_by_role("button", name="Delete", exact=True).wait_for(state="visible")
                    confirm = dialog.get_by_role("button", name="Delete", exact=True)
                    # The dialog shows the email with its word joiner after '@' (TOAST_VISIBLE drops it).
                    email = re.search(r"email: (\S+@\S+)", dialog.inner_text())[1].replace("\u2060", "")
                    wait_idle(page)
                    in_page, wall = _click_until(page, confirm, TOAST_VISIBLE, email)
                    delete_times.append(in_page)
                    delete_walls.append(wall)
                    wait_idle(page)
                    dialog.wait_for(state="detached")

                # "Users" in the navigation, from the Account page, to the grid. The first one follows the
                # deletes, which emptied the listing cache: cold (one Management API request).
                nav_times, nav_walls = [], []
                for _ in range(navigations):
                    _nav(page, "Account").click()
                    page.get_by_role("heading", name="Account").wait_for(state="visible")
                    wait_idle(page)
                    in_page, wall = _click_until(page, _nav(page, "Users"), GRID_VISIBLE)
                    nav_times.append(in_page)
                    nav_walls.append(wall)
                    wait_idle(page)
                context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    return {
        "measured": "in the page: the click event's timestamp to the first frame showing the result",
        "delete_to_toast_wall_s": [round(t, 3) for t in delete_walls],
        "users_click_to_grid_wall_s": [round(t, 3) for t in nav_walls],
        "delete_to_toast_s": [round(t, 3) for t in delete_times],
        "delete_to_toast_median_s": round(statistics.median(delete_times), 3),
        "users_click_to_grid_s": [round(t, 3) for t in nav_times],
        "users_click_to_grid_cold_s": round(nav_times[0], 3),
        "users_click_to_grid_warm_median_s": round(statistics.median(nav_times[1:]), 3)
        if len(nav_times) > 1
        else None,
    }


def memory(tenant: DevTenant, workdir: Path, *, sessions: int = 20) -> dict:
    """RSS of a fresh server with 1, then up to `sessions`, signed-in sessions on the Users page."""
    from playwright.sync_api import sync_playwright

    server = AppServer(tenant, workdir, "bench")
    sampler = PeakSampler(server)
    curve: list[dict] = []
    try:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            contexts = []
            try:
                start_rss = server.rss()
                for n in range(1, sessions + 1):
                    context, page = _new_page(browser)
                    contexts.append(context)
                    open_signed_out(page, server.url("/"))
                    sign_in(page, ADMIN)
                    _wait(page, GRID_VISIBLE)
                    wait_idle(page)
                    if n == 1 or n == sessions or n % 5 == 0:
                        time.sleep(1.0)  # let the server settle (sessions' runs and sends finish)
                        curve.append({"sessions": n, "rss_mb": round(server.rss() / MB, 1),
                                      "peak_mb": round(sampler.peak() / MB, 1)})  # fmt: skip
                # every session still connected and on the Users page
                alive = sum(1 for c in contexts if c.pages and not c.pages[0].is_closed())
            finally:
                for context in contexts:
                    context.close()
                browser.close()
    finally:
        sampler.stop()
        server.stop()
    one, many = curve[0], curve[-1]
    return {
        "server_rss_before_any_session_mb": round(start_rss / MB, 1),
        "sessions": sessions,
        "connected_at_end": alive,
        "curve": curve,
        "peak_1_mb": one["peak_mb"],
        "peak_n_mb": many["peak_mb"],
        "rss_1_mb": one["rss_mb"],
        "rss_n_mb": many["rss_mb"],
        "growth_per_session_mb": round((many["rss_mb"] - one["rss_mb"]) / (sessions - 1), 2),
        "peak_growth_per_session_mb": round((many["peak_mb"] - one["peak_mb"]) / (sessions - 1), 2),
    }
