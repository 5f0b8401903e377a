"""The bench's plumbing: a dev tenant, the app's settings pointed at it, signed-in AppTest sessions, deltas."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit_oauth
from streamlit.testing.v1 import AppTest

from tests.support.app_env import app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
ADMIN = "admin@example.com"
LATENCY_MS = 50
TIMEOUT = 60


@contextmanager
def app_settings(tenant: DevTenant, workdir: Path) -> Iterator[dict[str, str]]:
    """The app's settings in os.environ (as `tests.support.app_env.app_environment`), restored afterwards."""
    env = app_environment(tenant.base_url, workdir)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    clear_app_caches()
    try:
        yield env
    finally:
        clear_app_caches()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sign_in(email: str = ADMIN) -> AppTest:
    """A new session of app.py signed in through the FakePopup stand-in (exchange, ID token check and role
    lookup run for real); it lands on the Users page."""
    popup = FakePopup(email=email)
    streamlit_oauth._authorize_button = popup
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if not popup.results or "code" not in popup.results[0]:
        raise RuntimeError(f"sign-in failed: {popup.results}")
    check(at, "sign-in")
    return at


def check(at: AppTest, what: str) -> None:
    if at.exception:
        raise RuntimeError(f"{what}: exception {[e.value for e in at.exception]}")
    if at.error:
        raise RuntimeError(f"{what}: error {[e.value for e in at.error]}")


class Counter:
    """Deltas of the dev tenant's counters around an action."""

    def __init__(self, tenant: DevTenant):
        self.tenant = tenant

    def snapshot(self) -> dict:
        return self.tenant.stats()

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        requests = {
            key: after["requests"].get(key, 0) - before["requests"].get(key, 0)
            for key in after["requests"]
            if after["requests"].get(key, 0) != before["requests"].get(key, 0)
        }
        grants = {
            key: after["token_grants"].get(key, 0) - before["token_grants"].get(key, 0)
            for key in after["token_grants"]
            if after["token_grants"].get(key, 0) != before["token_grants"].get(key, 0)
        }
        return {
            "management_requests": after["management_requests"] - before["management_requests"],
            "requests": requests,
            "token_grants": grants,
        }


@dataclass
class Measured:
    """One view: Management API requests, wall seconds (AppTest's run, in-process: the server time)."""

    requests: int
    seconds: float
    detail: dict

    def as_json(self) -> dict:
        return {"requests": self.requests, "seconds": round(self.seconds, 4), "detail": self.detail}


def measure(counter: Counter, action) -> Measured:
    before = counter.snapshot()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    delta = Counter.delta(before, counter.snapshot())
    return Measured(requests=delta["management_requests"], seconds=seconds, detail=delta)


def summary(samples: list[float]) -> dict:
    """Median and p95 (nearest rank) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "n": len(ordered),
    }


def share_script_cache() -> None:
    """Make AppTest compile each script once, as `streamlit run` does.

    AppTest builds a new ScriptCache on every run, so every `at.run()` re-parses and re-compiles app.py
    and the page file (with Streamlit's "magic" AST rewrite: ~20-50 ms for pages/users.py on this
    machine), which a real server does once per file. Timing that would measure AppTest, not the app.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    if getattr(app_test.ScriptCache, "_bench_shared", False):
        return
    shared = ScriptCache()

    def script_cache() -> ScriptCache:
        return shared

    script_cache._bench_shared = True  # type: ignore[attr-defined]
    app_test.ScriptCache = script_cache  # type: ignore[assignment]
    local_script_runner.ScriptCache = script_cache  # type: ignore[assignment]


def run_app_script_every_time() -> None:
    """Make AppTest run app.py on every rerun, as `streamlit run` does (for the whole bench process); the
    tests use the same function per test (tests/support/apptest.py explains why)."""
    from tests.support.apptest import run_app_script_every_time as like_the_server

    like_the_server()
