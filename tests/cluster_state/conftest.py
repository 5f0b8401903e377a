"""Fixtures for the cluster-state tests: one throwaway PostgreSQL for the session, a fresh audit database per
test, and app instances (tests/cluster_state/instance.py processes) sharing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cluster_state.helpers import Instance
from tests.support.app_env import app_environment
from tests.support.devtenant_proc import DevTenant
from tests.support.postgres import PostgresServer, postgres_session


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session (started on first use)."""
    yield from postgres_session()


@pytest.fixture
def audit_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL audit database, shared by every instance of the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(sa.make_url(url).database or "")


@pytest.fixture
def start_instance(
    fresh_tenant: DevTenant, audit_url: str, tmp_path: Path
) -> Iterator[Callable[..., Instance]]:
    """Starts app instances on the test's dev tenant and audit database (all stopped at teardown)."""
    started: list[Instance] = []

    def start(name: str, **settings: str) -> Instance:
        env = app_environment(fresh_tenant.base_url, tmp_path / name, AUDIT_DATABASE_URL=audit_url)
        env.update(settings)
        instance = Instance(name, env, tmp_path / f"{name}.log")
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
