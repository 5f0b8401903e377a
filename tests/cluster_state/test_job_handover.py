"""SIGTERM during a bulk job (issue 17): instance A, shutting down, lets the deletes already talking to Auth0
finish and hands the job over; instance B takes it over by itself (on A's announcement, or by its start-up
sweep when it missed it) and runs only the rest, as the job's creator. Every person ends with exactly one
audit row and the dev tenant sees each DELETE at most once. Real processes, one PostgreSQL, real HTTP."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from admin_core.audit import AuditStore
from admin_core.jobs import (
    CUT_SHORT,
    DONE,
    FAILED,
    FINISHED,
    HANDED_OVER,
    INTERRUPTED,
    STALE_SECONDS,
    Job,
    JobStore,
)
from admin_core.shutdown import NOT_STARTED
from tests.cluster_state.helpers import audit_rows
from tests.cluster_state.test_cross_instance import staff
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.postgres

PEOPLE = 60
DELETE = "DELETE /api/v2/users/{id}"


def sixty(tenant: DevTenant) -> list[dict]:
    found = [
        {"user_id": u["user_id"], "email": u["email"]}
        for u in tenant.users()
        if u["user_id"].startswith("auth0|") and not u["email"].endswith("@example.com")
    ]
    assert len(found) >= PEOPLE
    return found[:PEOPLE]


def read_job(url: str, job_id: str) -> tuple[Job | None, list]:
    store = AuditStore(url)
    try:
        jobs = JobStore(store)
        return jobs.get(job_id), jobs.items(job_id)
    finally:
        store.close()


def wait_for(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not {what} within {timeout} s")


def done_rows(url: str) -> int:
    return sum(r.state == "ok" for r in audit_rows(url, "bulk_delete"))


@pytest.mark.parametrize("b_hears_it", [True, False], ids=["announced", "swept-at-start-up"])
def test_sigterm_mid_job_hands_it_over_and_every_person_has_one_outcome(
    fresh_tenant, start_instance, audit_url, b_hears_it
):
    people = sixty(fresh_tenant)
    # Each delete takes a second in the dev tenant: 60 people at 16 at a time outlast the SIGTERM.
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=1000, times=1000)
    a = start_instance("a", SHUTDOWN_DRAIN_SECONDS="10")
    a.ask("drain_on_sigterm")
    assert a.ask("jobs_watch")["watching"]
    b = None
    if b_hears_it:
        b = start_instance("b")  # its timer would sweep only in 10 minutes: the NOTIFY must wake it
        assert b.ask("jobs_watch", sweep_seconds=600)["watching"] and b.ask("listen")["listening"]
    job_id = a.ask("job_start", action="delete", users=people, **staff(fresh_tenant, "admin@example.com"))[
        "job_id"
    ]
    wait_for("a first round done", lambda: done_rows(audit_url) >= 1, 30)
    a.terminate()
    assert a.wait(30) == 0, a.output()

    handed, _ = read_job(audit_url, job_id)
    assert handed is not None
    if not b_hears_it:  # nobody was there to take it: A left it handed over, the rest untried
        assert (handed.status, handed.note) == (INTERRUPTED, HANDED_OVER)
        assert 0 < handed.done < PEOPLE and handed.failed == 0
        b = start_instance("b")
        assert b.ask("jobs_watch")["watching"]
    assert b is not None

    job, items = wait_for(
        "finished on B",
        lambda: (r := read_job(audit_url, job_id))[0] is not None and r[0].status == FINISHED and r,
        45,
    )
    assert job.owner is not None and job.owner.split(":")[1] == str(b.proc.pid)  # B ran the rest
    assert job.note is None
    rows = audit_rows(audit_url, "bulk_delete")
    assert Counter(r.target_user_id for r in rows) == Counter(p["user_id"] for p in people)  # once each
    assert not any(r.message == NOT_STARTED for r in rows)  # nobody "failed" because A shut down
    cut = {r.target_user_id for r in rows if r.state == "attempted"}  # only a change cut at A's deadline
    assert {r.state for r in rows} <= {"ok", "attempted"} and len(cut) <= 16
    for item in items:
        if item.person.user_id in cut:
            assert (item.state, item.reason) == (FAILED, CUT_SHORT)
        else:
            assert item.state == DONE, item
    assert fresh_tenant.stats()["requests"].get(DELETE, 0) == PEOPLE  # each DELETE once, none twice
    assert not {p["user_id"] for p in people} & {u["user_id"] for u in fresh_tenant.users()}


def test_a_job_whose_instance_was_killed_is_taken_over_once_its_heartbeat_is_stale(
    fresh_tenant, start_instance, audit_url
):
    """No drain at all (SIGKILL, a lost node): after STALE_SECONDS without a beat B's sweep takes the job
    over; the deletes that were on their way stay "attempted" and are never sent again. (The handover at
    SIGTERM above is what makes a restart clean; this is the fallback when an instance just dies.)"""
    people = sixty(fresh_tenant)
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=1000, times=1000)
    a, b = start_instance("a"), start_instance("b")
    assert b.ask("jobs_watch")["watching"]
    job_id = a.ask("job_start", action="delete", users=people, **staff(fresh_tenant, "admin@example.com"))[
        "job_id"
    ]
    wait_for("a first round done", lambda: done_rows(audit_url) >= 1, 30)
    a.stop()  # SIGKILL
    job, items = wait_for(
        "finished on B",
        lambda: (r := read_job(audit_url, job_id))[0] is not None and r[0].status == FINISHED and r,
        STALE_SECONDS + 40,
    )
    assert job.owner is not None and job.owner.split(":")[1] == str(b.proc.pid)
    rows = audit_rows(audit_url, "bulk_delete")
    assert Counter(r.target_user_id for r in rows) == Counter(p["user_id"] for p in people)  # once each
    cut = {r.target_user_id for r in rows if r.state == "attempted"}
    # Killed between taking a person's claim (admin_core.claims) and writing their "attempted" row: the
    # claim carries the person's job request id, so B takes it over and runs them (nothing was sent).
    assert {r.state for r in rows} <= {"ok", "attempted"} and len(cut) <= 16
    for item in items:
        if item.person.user_id in cut:
            assert (item.state, item.reason) == (FAILED, CUT_SHORT)
        else:
            assert item.state == DONE, item
    sent = fresh_tenant.stats()["requests"].get(DELETE, 0)
    assert PEOPLE - len(cut) <= sent <= PEOPLE  # the cut ones at most once, before the kill
