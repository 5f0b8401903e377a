"""Browser fixtures: headless Chromium (Debian's, via Playwright) against a real `streamlit run app.py`.

Every test here is marked `browser`. Servers are expensive on a 2-core machine, so one dev tenant and one
app server serve the whole session; tests that need a process that never ran app.py start their own
(`start_app_server`). On a failure the report gets the app server's output, and a screenshot of every
open page lands in `test-artifacts/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.helpers import BROWSER_TIMEOUT_MS
from tests.support.app_server import LOG_TAIL, AppServer
from tests.support.chromium import CHROMIUM, LAUNCH_ARGS
from tests.support.devtenant_proc import DevTenant

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"


# --- marking and failure reports ---------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for server in list(AppServer.running):
            state = "running" if server.alive else f"DIED with exit code {server.proc.returncode}"
            report.sections.append((f"streamlit {server.name} ({state})", server.output()[-LOG_TAIL:]))
        context = getattr(item, "funcargs", {}).get("context")
        if context is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])[:150]
            for index, open_page in enumerate(context.pages):
                if open_page.is_closed():
                    continue
                target = ARTIFACTS / f"{stem}-{index}.png"
                try:
                    open_page.screenshot(path=str(target), full_page=True, timeout=5_000)
                    report.sections.append(("screenshot", f"{target} ({open_page.url})"))
                except Exception as exc:  # a screenshot must never hide the real failure
                    report.sections.append(("screenshot", f"failed for {open_page.url}: {exc}"))
    return report


# --- Chromium ----------------------------------------------------------------------------------------


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread while
# it is open, and tests after tests/browser/ (e.g. tests/devtenant/) call asyncio.run().
@pytest.fixture(scope="package")
def chromium():
    """Debian's Chromium through Playwright's sync API (never a downloaded browser)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (browser tests never skip in CI)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium):
    """A fresh browser profile per test: no cookies (so no Auth0 SSO session) carried between tests."""
    ctx = chromium.new_context(viewport={"width": 1440, "height": 1000})
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


# --- servers -----------------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser_tenant() -> Iterator[DevTenant]:
    """The dev tenant behind the shared app server (150 generated users plus the staff accounts)."""
    with DevTenant(users=150) as dev:
        yield dev


@pytest.fixture(scope="package")
def start_app_server(tmp_path_factory) -> Iterator[Callable[..., AppServer]]:
    """Starts app servers on demand; every one is stopped at the end of the session at the latest."""
    started: list[AppServer] = []

    def start(tenant: DevTenant, name: str = "app") -> AppServer:
        server = AppServer(tenant, tmp_path_factory.mktemp(f"app-{name}"), name)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="package")
def app_server(browser_tenant: DevTenant, start_app_server) -> AppServer:
    """The shared app server (it has run app.py many times over; not for the fresh-process checks)."""
    return start_app_server(browser_tenant, "shared")


@pytest.fixture
def app(app_server: AppServer) -> Iterator[AppServer]:
    app_server.check_alive()
    yield app_server
    app_server.check_alive()


# --- reliability suite (tests/browser/test_reliability_*.py) -------------------------------------------


@pytest.fixture(scope="package")
def reliability_tenant() -> Iterator[DevTenant]:
    """A dev tenant of its own for the reliability browser tests: they add hostile users and delete some,
    which must not change what the other browser tests see in `browser_tenant`."""
    with DevTenant(users=60) as dev:
        yield dev


@pytest.fixture(scope="package")
def reliability_app_server(reliability_tenant: DevTenant, start_app_server) -> AppServer:
    """An app server on `reliability_tenant` logging at debug level (the secrets check reads its output)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STREAMLIT_LOGGER_LEVEL", "debug")
        return start_app_server(reliability_tenant, "reliability")


@pytest.fixture
def reliability_app(reliability_app_server: AppServer) -> Iterator[AppServer]:
    reliability_app_server.check_alive()
    yield reliability_app_server
    reliability_app_server.check_alive()
