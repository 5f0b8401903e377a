"""Fixtures for the audit store tests: real SQLite files and a real throwaway PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from admin_core.audit import AuditStore  # noqa: E402
from tests.support.postgres import PostgresServer, postgres_session  # noqa: E402

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session (started on first use)."""
    yield from postgres_session()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the database backend under test."""
    return request.param


@pytest.fixture
def audit_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty audit database on the backend under test."""
    if backend == "sqlite":
        # A directory that does not exist yet: the store must create it on first use.
        yield f"sqlite:///{tmp_path / 'data' / 'audit.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(sa.make_url(url).database or "")


@pytest.fixture
def make_store(audit_url: str) -> Iterator[Callable[..., AuditStore]]:
    """Factory of stores on the test's database (all closed at teardown)."""
    stores: list[AuditStore] = []

    def make(url: str | None = None) -> AuditStore:
        store = AuditStore(url or audit_url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., AuditStore]) -> AuditStore:
    """An audit store on a fresh database of the backend under test."""
    return make_store()
