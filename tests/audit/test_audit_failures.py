"""An unreachable audit database gives plain AuditErrors, and destructive work is not started."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from admin_core.audit import AuditError, AuditStore, default_sqlite_url
from devtenant.processes import free_port
from tests.audit.helpers import ALICE, CAROL


def assert_plain(message: str) -> None:
    """A message fit for the page: one line, no SQL, no traceback."""
    assert "\n" not in message
    assert "[SQL" not in message
    assert "Traceback" not in message
    assert "sqlalche.me" not in message
    assert len(message) < 400


@pytest.fixture
def unwritable_sqlite(tmp_path: Path) -> tuple[AuditStore, Path]:
    """A store whose data directory cannot be created: its parent is a regular file."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    store = AuditStore(default_sqlite_url(blocker / "data"))
    yield store, blocker
    store.close()


@pytest.fixture
def closed_port_postgres() -> AuditStore:
    """A PostgreSQL store pointing at a loopback port nobody listens on (with a password in the URL)."""
    store = AuditStore(
        f"postgresql+psycopg://auditor:s3cret-pw@127.0.0.1:{free_port()}/audit?connect_timeout=2"
    )
    yield store
    store.close()


def test_begin_on_an_uncreatable_sqlite_path_raises_a_plain_audit_error(
    unwritable_sqlite: tuple[AuditStore, Path],
) -> None:
    store, _ = unwritable_sqlite
    with pytest.raises(AuditError) as raised:
        store.begin(actor=ALICE, action="delete", target=CAROL)
    message = raised.value.message
    assert message.startswith("Could not write the audit log (database unreachable): ")
    assert message.endswith("The change was not made.")
    assert str(raised.value) == message
    assert_plain(message)


def test_attempt_does_not_run_the_destructive_block_when_the_log_is_unwritable(
    unwritable_sqlite: tuple[AuditStore, Path],
) -> None:
    store, _ = unwritable_sqlite
    ran = False
    with pytest.raises(AuditError), store.attempt(actor=ALICE, action="delete", target=CAROL):
        ran = True
    assert ran is False


def test_the_store_recovers_once_the_sqlite_directory_can_be_created(
    unwritable_sqlite: tuple[AuditStore, Path],
) -> None:
    store, blocker = unwritable_sqlite
    with pytest.raises(AuditError):
        store.record(actor=ALICE, action="sign_in")
    blocker.unlink()
    store.record(actor=ALICE, action="sign_in")
    assert store.query().total == 1
    assert (blocker / "data" / "audit.sqlite3").is_file()


def test_postgres_on_a_closed_port_raises_a_plain_audit_error_quickly(
    closed_port_postgres: AuditStore,
) -> None:
    started = time.monotonic()
    with pytest.raises(AuditError) as raised:
        closed_port_postgres.begin(actor=ALICE, action="delete", target=CAROL)
    assert time.monotonic() - started < 15
    message = raised.value.message
    assert message.startswith("Could not write the audit log (database unreachable): ")
    assert message.endswith("The change was not made.")
    assert_plain(message)
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in repr(closed_port_postgres)


def test_one_shot_records_and_reads_on_an_unreachable_database_raise_plain_audit_errors(
    closed_port_postgres: AuditStore,
) -> None:
    with pytest.raises(AuditError, match=r"^Could not write the audit log .*The event was not recorded\.$"):
        closed_port_postgres.record(actor=ALICE, action="sign_in")
    with pytest.raises(AuditError, match=r"^Could not read the audit log \(database unreachable\): "):
        closed_port_postgres.query()
    with pytest.raises(AuditError, match=r"^Could not read the audit log"):
        closed_port_postgres.export_csv()


def test_a_malformed_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(AuditError) as raised:
        AuditStore("not a url :: with password hunter2")
    assert "hunter2" not in raised.value.message
