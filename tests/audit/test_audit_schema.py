"""Schema creation: idempotent, versioned, shared by several stores and racing processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from admin_core.audit import SCHEMA_VERSION, AuditError, AuditStore
from tests.audit.helpers import ALICE, CAROL, subprocess_env


def schema_rows(url: str) -> list[tuple[int, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql("SELECT id, version FROM audit_schema")]
    finally:
        engine.dispose()


def test_the_schema_is_created_on_first_use_with_its_indexes(store: AuditStore) -> None:
    store.record(actor=ALICE, action="sign_in")
    inspector = sa.inspect(store.engine)
    assert {"audit_events", "audit_schema"} <= set(inspector.get_table_names())
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("audit_events")}
    assert {("occurred_at",), ("actor_email",), ("action",)} <= indexed
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("audit_events")}
    unique |= {tuple(ix["column_names"]) for ix in inspector.get_indexes("audit_events") if ix["unique"]}
    assert ("request_id",) in unique
    columns = {c["name"]: c for c in inspector.get_columns("audit_events")}
    assert set(columns) == {
        "id", "request_id", "occurred_at", "completed_at", "actor_sub", "actor_email", "action",
        "target_user_id", "target_email", "target_name", "state", "message",
    }  # fmt: skip
    for nullable in ("completed_at", "target_user_id", "target_email", "target_name", "message"):
        assert columns[nullable]["nullable"] is True


def test_creating_the_schema_twice_keeps_one_version_row(
    make_store: Callable[..., AuditStore], audit_url: str
) -> None:
    first = make_store()
    first.ensure_schema()
    first.ensure_schema()
    second = make_store()
    second.ensure_schema()
    assert second.schema_version() == SCHEMA_VERSION
    assert schema_rows(audit_url) == [(1, SCHEMA_VERSION)]


def test_two_stores_on_one_database_see_and_complete_each_others_entries(
    make_store: Callable[..., AuditStore],
) -> None:
    instance_a = make_store()
    instance_b = make_store()
    request_id = instance_a.begin(actor=ALICE, action="delete", target=CAROL)
    seen_by_b = instance_b.get(request_id)
    assert seen_by_b is not None
    assert seen_by_b.state == "attempted"

    instance_b.complete(request_id, ok=True)
    assert instance_a.get(request_id).state == "ok"  # type: ignore[union-attr]
    with pytest.raises(AuditError, match="already completed"):
        instance_a.complete(request_id, ok=True)
    instance_b.record(actor=ALICE, action="logout")
    assert instance_a.query().total == instance_b.query().total == 2


RACE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from admin_core.audit import Actor, AuditStore

    url, start_at = sys.argv[1], float(sys.argv[2])
    store = AuditStore(url)
    time.sleep(max(0.0, start_at - time.time()))
    store.record(actor=Actor(sub="auth0|racer", email="racer@example.com"), action="sign_in")
    print("ok", flush=True)
    """
)


def test_processes_racing_to_create_the_schema_all_succeed_with_one_version_row(
    store: AuditStore, audit_url: str
) -> None:
    start_at = time.time() + 2.0  # after every child has imported SQLAlchemy
    children = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", RACE_SCRIPT, audit_url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for _ in range(4)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == "ok"
    assert schema_rows(audit_url) == [(1, SCHEMA_VERSION)]
    assert store.query(actor="racer").total == 4


def test_a_database_from_a_newer_app_version_is_refused(
    make_store: Callable[..., AuditStore], audit_url: str
) -> None:
    make_store().ensure_schema()
    engine = sa.create_engine(audit_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_schema SET version = 99")
    finally:
        engine.dispose()
    with pytest.raises(AuditError, match="schema version 99"):
        make_store().begin(actor=ALICE, action="delete", target=CAROL)


def test_the_sqlite_file_uses_write_ahead_logging_and_a_busy_timeout(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    try:
        store.record(actor=ALICE, action="sign_in")
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        store.close()
