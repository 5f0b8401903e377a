"""Fixtures for the dev tenant's own tests: real subprocesses, real HTTP, the official SDKs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.management import Auth0

from tests.support.devtenant_proc import DevTenant


@pytest.fixture(scope="session")
def devt() -> Iterator[DevTenant]:
    """One default dev tenant (150 generated users) for the whole run."""
    with DevTenant(users=150) as dt:
        yield dt


@pytest.fixture
def dt(devt: DevTenant) -> DevTenant:
    """The shared dev tenant, reset (users, roles, counters, faults) before each test."""
    devt.reset()
    return devt


@pytest.fixture(scope="session")
def make_tenant() -> Iterator[Callable[..., DevTenant]]:
    """Start a dev tenant with special options; one per distinct option set, stopped at the end."""
    started: dict[tuple, DevTenant] = {}

    def make(**options) -> DevTenant:
        key = tuple(sorted(options.items()))
        if key not in started:
            options.setdefault("users", 30)
            started[key] = DevTenant(**options)
        started[key].reset()
        return started[key]

    yield make
    for t in started.values():
        t.stop()


def get_token(dt: DevTenant, client_id: str = "dashboard", secret: str = "dashboard-secret") -> dict:  # noqa: S107
    return GetToken(dt.domain, client_id, client_secret=secret, protocol="http").client_credentials(
        dt.api_audience
    )


def management(dt: DevTenant, token: str, **kw) -> Auth0:
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 10)
    return Auth0(base_url=f"{dt.base_url}/api/v2", token=lambda: token, **kw)


@pytest.fixture(scope="session")
def token(devt: DevTenant) -> str:
    return get_token(devt)["access_token"]


@pytest.fixture
def api(dt: DevTenant, token: str) -> Auth0:
    return management(dt, token)


@pytest.fixture
def http(dt: DevTenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dt.base_url, timeout=10, trust_env=False) as c:
        yield c


@pytest.fixture
def raw(dt: DevTenant, token: str) -> Iterator[httpx.Client]:
    """httpx on /api/v2 with the management token."""
    with httpx.Client(
        base_url=f"{dt.base_url}/api/v2",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    ) as c:
        yield c
