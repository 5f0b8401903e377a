"""A throwaway PostgreSQL server on loopback for one test session (the server itself: `deploy.postgres`).

If no server can be had because the binaries (or the ``postgres`` user) are missing, tests are
skipped with install instructions, except when ``$CI`` is set: then they fail, so CI never goes
green without the PostgreSQL half of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.postgres import (
    PostgresServer,
    PostgresUnavailable,
    find_pg_bin,
    in_ci,
    start_postgres,
)

__all__ = [
    "INSTALL_HINT",
    "PostgresServer",
    "PostgresUnavailable",
    "find_pg_bin",
    "in_ci",
    "postgres_session",
    "start_postgres",
]

INSTALL_HINT = "Install the server with `apt-get install postgresql` (Debian/Ubuntu) to run these tests."


def postgres_session() -> Iterator[PostgresServer]:
    """Body of a session-scoped fixture: start the server, yield it, stop it.

    Missing binaries: skip with install instructions, or fail when $CI is set.
    """
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        if in_ci():
            pytest.fail(f"{error} CI is set, so PostgreSQL tests must run. {INSTALL_HINT}", pytrace=False)
        pytest.skip(f"{error} {INSTALL_HINT}")
    try:
        yield server
    finally:
        server.stop()
