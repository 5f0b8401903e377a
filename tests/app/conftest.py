"""Fixtures shared by the page and action tests of tests/app/."""

from __future__ import annotations

import pytest

from tests.support.app_env import app_environment, clear_app_caches


@pytest.fixture
def env(fresh_tenant, tmp_path, monkeypatch):
    """The app's settings on a freshly reset dev tenant with a 1 s Auth0 timeout (a held answer times out
    fast), caches cleared before and after, and the tenant's injected faults cleared after the test."""
    values = app_environment(fresh_tenant.base_url, tmp_path, AUTH0_TIMEOUT_SECONDS="1")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    yield values
    fresh_tenant.clear_faults()
    clear_app_caches()
