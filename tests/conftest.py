"""Shared fixtures (only fixtures: helpers live in tests/support/): a dev tenant over loopback, app settings
pointed at it, AppTest sign-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.app_env import ROOT, STAFF, app_environment, clear_app_caches
from tests.support.apptest import run_app_script_every_time
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant

pytest_plugins = ["tests.support.reliability_report"]


@pytest.fixture(scope="session")
def tenant() -> Iterator[DevTenant]:
    """One dev tenant (150 users) for the session; tests that change it reset it first (see `fresh_tenant`)."""
    with DevTenant(users=150) as dev:
        yield dev


@pytest.fixture
def fresh_tenant(tenant: DevTenant) -> DevTenant:
    tenant.reset()
    return tenant


@pytest.fixture
def app_env(fresh_tenant: DevTenant, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """The app's settings in the environment, pointed at a freshly reset dev tenant; caches cleared."""
    env = app_environment(fresh_tenant.base_url, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    yield env
    clear_app_caches()


@pytest.fixture(autouse=True)
def apptest_runs_app_py_like_the_server(monkeypatch) -> None:
    """Every AppTest in every test runs app.py on every rerun, as `streamlit run` does (see
    tests/support/apptest.py): page tests then see the gate, the header and the menu on every interaction."""
    run_app_script_every_time(monkeypatch)


@pytest.fixture
def sign_in(app_env, monkeypatch):
    """Returns a function giving an AppTest of app.py signed in as one of the staff accounts."""

    def signed_in(who: str = "admin", *, page: str | None = None) -> AppTest:
        popup = FakePopup(email=STAFF.get(who, who)).install(monkeypatch)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.run()
        assert popup.results and "code" in popup.results[0], popup.results
        if page:
            at.switch_page(page)
            at.run()
        return at

    return signed_in


def pytest_configure(config):
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
