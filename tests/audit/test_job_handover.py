"""The job store's side of a handover (issue 17), on SQLite and PostgreSQL: a job handed over at a shutdown
is free to take over by itself, one declined or merely interrupted is not; the old owner's late end cannot
touch a job taken over; a change cut short whose answer came after all reads done; an older database gets
the note column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from admin_core import jobs as jobs_module
from admin_core.jobs import (
    CUT_SHORT,
    DONE,
    FAILED,
    FINISHED,
    HANDED_OVER,
    INTERRUPTED,
    NOT_STARTED,
    NOT_TAKEN_OVER,
    PENDING,
    RUNNING,
    STALE_SECONDS,
    JobStore,
    request_id,
)
from tests.audit.test_job_store import age_heartbeat, change, new_job


def test_only_a_handed_over_or_orphaned_job_is_free_to_take_over_by_itself(store):
    jobs = JobStore(store)
    handed, declined, plain, alive, orphaned = (new_job(jobs) for _ in range(5))
    jobs.end(handed, owner="instance-a", status=INTERRUPTED, note=HANDED_OVER)
    jobs.end(declined, owner="instance-a", status=INTERRUPTED, note=NOT_TAKEN_OVER.format(reason="No."))
    jobs.end(plain, owner="instance-a", status=INTERRUPTED)  # stopped on an error: resumed by hand only
    age_heartbeat(store, orphaned, STALE_SECONDS + 5)  # its owner was killed without a drain
    assert jobs.get(handed).note == HANDED_OVER
    assert set(jobs.takeable()) == {handed, orphaned}
    for job_id in (declined, plain, alive):
        assert not jobs.claim(job_id, owner="instance-b", handed_over_only=True)
    assert jobs.claim(handed, owner="instance-b", handed_over_only=True)
    assert not jobs.claim(handed, owner="instance-c", handed_over_only=True)  # one winner
    taken = jobs.get(handed)
    assert (taken.status, taken.owner, taken.note) == (RUNNING, "instance-b", None)
    assert jobs.claim(declined, owner="instance-b")  # by hand (Resume), a declined job still runs


def test_the_old_owners_late_end_leaves_a_taken_over_job_alone(store):
    jobs = JobStore(store)
    job_id = new_job(jobs)
    change(store, job_id, 0, ok=True)
    assert jobs.end(job_id, owner="instance-a", status=INTERRUPTED, note=HANDED_OVER)
    assert jobs.claim(job_id, owner="instance-b", handed_over_only=True)
    assert not jobs.end(job_id, owner="instance-a", status=FINISHED)  # A's thread ends after B took over
    job = jobs.get(job_id)
    assert (job.status, job.owner) == (RUNNING, "instance-b")
    assert [i.state for i in jobs.items(job_id)] == [DONE] + [PENDING] * 4  # not "not started"
    assert jobs.end(job_id, owner="instance-b", status=FINISHED)
    assert [i.state for i in jobs.items(job_id)] == [DONE] + [NOT_STARTED] * 4


def test_a_change_cut_short_at_a_takeover_whose_answer_came_after_all_reads_done(store):
    jobs = JobStore(store)
    job_id = new_job(jobs)
    change(store, job_id, 0, ok=None)  # on its way when A handed over at its deadline
    change(store, job_id, 1, ok=None)
    jobs.end(job_id, owner="instance-a", status=INTERRUPTED, note=HANDED_OVER)
    assert jobs.claim(job_id, owner="instance-b", handed_over_only=True)
    store.complete(request_id(job_id, 0), ok=True)  # A's last request was answered before A exited
    states = [(i.state, i.reason) for i in jobs.items(job_id)[:2]]
    assert states == [(DONE, None), (FAILED, CUT_SHORT)]
    assert jobs.get(job_id).done == 1


def test_an_older_database_gets_the_note_column(store, make_store):
    jobs = JobStore(store)
    new_job(jobs)
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE bulk_jobs DROP COLUMN note"))  # as made before jobs had notes
    again = JobStore(make_store())  # the next process on that database
    job_id = new_job(again)
    assert again.end(job_id, owner="instance-a", status=INTERRUPTED, note=HANDED_OVER)
    assert again.get(job_id).note == HANDED_OVER


def test_an_instance_whose_clock_runs_ahead_does_not_take_over_a_live_job(store, backend, monkeypatch):
    """Heartbeats and their staleness are read on PostgreSQL's clock: a host ten minutes ahead sees a live
    job as alive. (SQLite is one process, on one clock: nothing to skew.)"""
    if backend != "postgres":
        return
    jobs = JobStore(store)
    job_id = new_job(jobs)  # beating now, by the owner's clock
    ahead = datetime.now(UTC) + timedelta(minutes=10)
    monkeypatch.setattr(jobs_module, "_wall_clock", lambda: ahead)
    assert jobs.takeable() == []
    assert not jobs.claim(job_id, owner="instance-b", handed_over_only=True)
    assert jobs.get(job_id).owner == "instance-a"
