"""Many threads writing at once: no lost rows, no duplicates, no 'database is locked'."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from admin_core.audit import Actor, AuditStore, Target

THREADS = 8
ROWS_PER_THREAD = 500


def test_eight_threads_writing_500_entries_each_lose_and_duplicate_nothing(store: AuditStore) -> None:
    store.ensure_schema()
    barrier = threading.Barrier(THREADS)
    returned: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        actor = Actor(sub=f"auth0|worker{n}", email=f"worker{n}@example.com")
        try:
            barrier.wait(timeout=30)
            for i in range(ROWS_PER_THREAD):
                target = Target(user_id=f"auth0|u{n}-{i}", email=f"u{n}-{i}@example.com", name=None)
                request_id = store.begin(actor=actor, action="delete", target=target)
                store.complete(request_id, ok=i % 10 != 0, message=None if i % 10 else "simulated failure")
                returned[n].append(request_id)
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,), name=f"audit-writer-{n}") for n in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    elapsed = time.monotonic() - started

    assert not [t.name for t in threads if t.is_alive()], "writer threads hung"
    assert errors == [], f"{len(errors)} writes failed, first: {errors[0]!r}"
    expected = THREADS * ROWS_PER_THREAD
    all_returned = [rid for ids in returned for rid in ids]
    assert len(all_returned) == len(set(all_returned)) == expected

    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT request_id, state, completed_at, actor_email FROM audit_events")
        ).all()
    assert len(rows) == expected
    assert {row.request_id for row in rows} == set(all_returned)
    assert all(row.completed_at is not None for row in rows)
    assert sum(row.state == "ok" for row in rows) == expected * 9 // 10
    assert sum(row.state == "error" for row in rows) == expected // 10
    per_actor = store.query(actor="worker3@")
    assert per_actor.total == ROWS_PER_THREAD
    print(f"{expected} begin+complete pairs from {THREADS} threads in {elapsed:.1f}s")


def test_an_in_memory_sqlite_store_is_shared_safely_between_threads() -> None:
    store = AuditStore("sqlite://")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(100):
                request_id = store.begin(
                    actor=Actor(sub="auth0|mem", email=None), action="block", target=None
                )
                store.complete(request_id, ok=True)
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert store.query(per_page=1).total == 400
        assert store.query(actor="mem", per_page=1).events[0].state == "ok"
    finally:
        store.close()
