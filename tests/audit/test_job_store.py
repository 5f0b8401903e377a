"""The bulk-job store (admin_core.jobs) on SQLite and PostgreSQL: each person's outcome is read from the audit
row of their change, one owner at a time, a stale heartbeat reads as interrupted, a takeover claims it once
and marks the change that was cut short, the rest pending again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Barrier, Thread

import pytest
import sqlalchemy as sa

from admin_core.audit import Actor, AuditRequestError, Target
from admin_core.jobs import (
    CUT_SHORT,
    DONE,
    FAILED,
    FINISHED,
    INTERRUPTED,
    NOT_STARTED,
    PENDING,
    RUNNING,
    STALE_SECONDS,
    JobStore,
    Person,
    bulk_jobs,
    request_id,
)

PEOPLE = [Person(user_id=f"auth0|{i}", email=f"p{i}@example.com", name=f"P {i}") for i in range(5)]


ADMIN = Actor(sub="auth0|admin", email="a@x.test")


def change(store, job_id: str, position: int, *, ok: bool | None, message: str | None = None) -> None:
    """What actions.job_item writes for one person: the attempted row, then (unless cut short) its outcome."""
    person = PEOPLE[position]
    rid = request_id(job_id, position)
    store.begin(actor=ADMIN, action="bulk_delete", target=Target(user_id=person.user_id), request_id=rid)
    if ok is not None:
        store.complete(rid, ok=ok, message=message)


def new_job(jobs: JobStore, owner: str = "instance-a") -> str:
    return jobs.create(
        action="delete", people=PEOPLE, created_by_sub="auth0|admin", created_by_email="a@x.test", owner=owner
    )


def age_heartbeat(store, job_id: str, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            bulk_jobs.update()
            .where(bulk_jobs.c.id == job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def test_a_job_counts_each_persons_outcome_and_ends_with_the_rest_not_started(store):
    jobs = JobStore(store)
    job_id = new_job(jobs)
    change(store, job_id, 0, ok=True)
    with pytest.raises(AuditRequestError):
        change(store, job_id, 0, ok=True)  # never a second change for the same person
    change(store, job_id, 1, ok=False, message="Auth0 said no.")
    job = jobs.get(job_id)
    assert job is not None and job.status == RUNNING
    assert (job.done, job.failed, job.left, job.total) == (1, 1, 3, 5)
    jobs.end(job_id, owner="instance-a", status=FINISHED)
    states = [(i.state, i.reason) for i in jobs.items(job_id)]
    assert states == [(DONE, None), (FAILED, "Auth0 said no."), *[(NOT_STARTED, None)] * 3]
    assert jobs.get(job_id).status == FINISHED


def test_a_stale_heartbeat_reads_as_interrupted_and_one_claim_wins(store, make_store):
    jobs = JobStore(store)
    job_id = new_job(jobs)
    change(store, job_id, 0, ok=True)
    change(store, job_id, 1, ok=None)  # on its way when the owner died
    assert not jobs.claim(job_id, owner="instance-b")  # the owner is alive: no takeover
    age_heartbeat(store, job_id, STALE_SECONDS + 5)
    assert jobs.get(job_id).status == INTERRUPTED

    other = JobStore(make_store())  # another instance on the same database
    barrier, won = Barrier(2), []

    def claim(store_: JobStore, owner: str) -> None:
        barrier.wait()
        won.append((owner, store_.claim(job_id, owner=owner)))

    threads = [Thread(target=claim, args=(jobs, "b")), Thread(target=claim, args=(other, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ok for _, ok in won) == [False, True]
    job = jobs.get(job_id)
    assert job.status == RUNNING and job.owner == next(o for o, ok in won if ok)
    states = [(i.state, i.reason) for i in jobs.items(job_id)]
    assert states == [(DONE, None), (FAILED, CUT_SHORT), *[(PENDING, None)] * 3]


def test_a_cancel_asked_anywhere_reaches_the_owners_heartbeat(store, make_store):
    jobs = JobStore(store)
    job_id = new_job(jobs)
    assert jobs.beat(job_id, owner="instance-a") is False
    JobStore(make_store()).request_cancel(job_id)
    assert jobs.beat(job_id, owner="instance-a") is True


def test_the_job_tables_live_in_the_audit_database(store):
    JobStore(store).recent()
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"bulk_jobs", "bulk_job_items", "audit_events"} <= names
