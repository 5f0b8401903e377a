"""Browser fixtures: headless Chromium (Debian's, via Playwright) against a real `streamlit run app.py`.

Every test here is marked `browser`. Servers are expensive on a 2-core machine, so one dev tenant and one
app server serve the whole session; tests that need a process that never ran app.py start their own
(`start_app_server`). On a failure the report gets the app server's output, and a screenshot of every
open page lands in `test-artifacts/`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import app_environment
from tests.support.chromium import CHROMIUM, LAUNCH_ARGS
from tests.support.devtenant_proc import DevTenant, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SERVER_START_TIMEOUT = 60.0
LOG_TAIL = 12_000  # characters of server output attached to a failure report


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
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


# --- servers -----------------------------------------------------------------------------------------


class AppServer:
    """`streamlit run app.py` on a free loopback port, pointed at a dev tenant; output goes to a file."""

    running: list[AppServer] = []

    def __init__(self, tenant: DevTenant, workdir: Path, name: str) -> None:
        self.name = name
        self.tenant = tenant
        self.port = free_port()
        self.app_url = f"http://localhost:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"streamlit-{name}.log"
        env = dict(os.environ)
        env.update(
            app_environment(tenant.base_url, workdir, APP_URL=self.app_url, DATA_DIR=str(workdir / "data"))
        )
        env.update(PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                # Other people edit this tree while tests run: no reruns or reloads from file changes.
                "--server.fileWatcherType",
                "none",
            ],
            cwd=str(ROOT),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        AppServer.running.append(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def url(self, path: str = "", *, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        with httpx.Client(timeout=2, trust_env=False) as http:
            while True:
                if not self.alive:
                    raise RuntimeError(
                        f"streamlit exited with {self.proc.returncode} during startup:\n{self.output()}"
                    )
                try:
                    if http.get(self.url("/_stcore/health", host="127.0.0.1")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not answer /_stcore/health within {SERVER_START_TIMEOUT:.0f} s:\n"
                        f"{self.output()}"
                    )
                time.sleep(0.1)

    def check_alive(self) -> None:
        if not self.alive:
            pytest.fail(
                f"streamlit {self.name} died (exit {self.proc.returncode}):\n{self.output()[-LOG_TAIL:]}"
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        if self in AppServer.running:
            AppServer.running.remove(self)


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
