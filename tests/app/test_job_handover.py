"""A bulk job when its process begins shutting down (issue 17), against the dev tenant over real HTTP: the
people already talking to Auth0 finish, nobody "fails" because of the shutdown, the rest are left untried
and the job is handed over; a takeover runs only the rest; a job whose creator lost the admin role is not
taken over, says why on the Audit page, and is still resumable by hand."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from admin_core import actions, jobrunner, shutdown
from admin_core.jobs import (
    DONE,
    FAILED,
    FINISHED,
    HANDED_OVER,
    INTERRUPTED,
    NOT_STARTED,
    Person,
)
from admin_core.shutdown import Drain, Draining
from tests.app.test_bulk_jobs import WAIT, once_each, outcomes, people, still_there
from tests.app.test_support_faults import audit_rows
from tests.support.identities import identity_of

DELETE = "DELETE /api/v2/users/{id}"


@pytest.fixture
def drain(monkeypatch) -> Drain:
    """This process's drain, fresh for the test (the real one is process-wide and never ends)."""
    fresh = Drain()
    monkeypatch.setattr(shutdown, "DRAIN", fresh)
    return fresh


def deletes(tenant) -> int:
    return tenant.stats()["requests"].get(DELETE, 0)


def test_a_job_item_asked_after_the_drain_began_raises_and_records_nothing(app_env, fresh_tenant, drain):
    admin = identity_of(fresh_tenant, "admin@example.com")
    (person,) = people(fresh_tenant, 1)
    drain.begin()
    with pytest.raises(Draining):
        actions.job_item(identity=admin, action="delete", user=person, request_id="job-0")
    assert audit_rows(app_env, "bulk_delete") == []  # no refusal row: the person stays untried
    assert deletes(fresh_tenant) == 0
    # a single change (not a job's) is still refused in words and recorded, as before
    report = actions.delete_users(identity=admin, users=[person])
    assert report.failed == [(person, shutdown.NOT_STARTED)]


def test_draining_mid_job_hands_it_over_and_a_takeover_runs_only_the_rest(
    app_env, fresh_tenant, drain, monkeypatch
):
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 40)
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=1500, times=100)
    try:
        job_id = jobrunner.start(identity=admin, action="delete", users=chosen)
        deadline = time.monotonic() + WAIT
        while not audit_rows(app_env, "bulk_delete") and time.monotonic() < deadline:
            time.sleep(0.05)  # the first deletes are talking to Auth0
        assert drain.drain(30)  # SIGTERM's drain: the running deletes finish, no hook is cut
        assert jobrunner.wait(job_id, WAIT)
    finally:
        fresh_tenant.clear_faults()
    job = jobrunner.job(job_id)
    assert job is not None and (job.status, job.note) == (INTERRUPTED, HANDED_OVER)
    states = Counter(outcomes(job_id))
    assert FAILED not in states, [i.reason for i in jobrunner.outcomes(job_id) if i.state == FAILED]
    assert states[DONE] >= 1 and states[NOT_STARTED] >= 1 and states[DONE] + states[NOT_STARTED] == 40
    done = {i.person.user_id for i in jobrunner.outcomes(job_id) if i.state == DONE}
    rows = audit_rows(app_env, "bulk_delete")
    assert {r.target_user_id for r in rows} == done and {r.state for r in rows} == {"ok"}  # no refusals
    assert deletes(fresh_tenant) == len(done)
    assert not jobrunner.take_over(job_id)  # a process that is shutting down takes nothing over

    monkeypatch.setattr(shutdown, "DRAIN", Drain())  # another instance, not shutting down
    assert jobrunner.get_jobs().takeable() == [job_id]
    assert jobrunner.take_over(job_id)
    assert not jobrunner.take_over(job_id)  # already taken
    assert jobrunner.wait(job_id, WAIT)
    taken = jobrunner.job(job_id)
    assert (taken.status, taken.note, taken.created_by) == (FINISHED, None, "admin@example.com")
    assert outcomes(job_id) == [DONE] * 40
    assert deletes(fresh_tenant) == 40  # the rest only: nobody deleted twice
    assert still_there(fresh_tenant, chosen) == set()
    once_each(app_env, "bulk_delete", chosen)


def test_a_job_whose_creator_lost_the_admin_role_is_not_taken_over(sign_in, app_env, fresh_tenant):
    chosen = people(fresh_tenant, 3)
    demoted = identity_of(fresh_tenant, "viewer@example.com")  # started it as an admin; a viewer now
    store = jobrunner.get_jobs()
    job_id = store.create(
        action="delete",
        people=[Person(user_id=u.user_id, email=u.email, name=u.name) for u in chosen],
        created_by_sub=demoted.sub,
        created_by_email=demoted.email,
        owner="an-instance-that-stopped",
    )
    store.end(job_id, owner="an-instance-that-stopped", status=INTERRUPTED, note=HANDED_OVER)
    assert jobrunner.sweep() == 0
    job = jobrunner.job(job_id)
    assert job.status == INTERRUPTED
    assert job.note is not None and "viewer@example.com, is no longer an admin in Auth0" in job.note
    assert jobrunner.get_jobs().takeable() == []  # the next sweep does not ask Auth0 again
    assert deletes(fresh_tenant) == 0 and audit_rows(app_env, "bulk_delete") == []

    at = sign_in("admin", page="pages/audit.py")  # the Audit page says why, and Resume still works
    assert not at.exception
    assert any("Not taken over" in i.value and "no longer an admin" in i.value for i in at.info)
    at.button(key=f"jobs.resume.{job_id}").click().run()
    assert not at.exception
    assert jobrunner.wait(job_id, WAIT)
    assert outcomes(job_id) == [DONE] * 3 and still_there(fresh_tenant, chosen) == set()
    assert jobrunner.job(job_id).created_by == "viewer@example.com"  # the job's; it ran as the admin
    rows = audit_rows(app_env, "bulk_delete")
    assert {r.actor_email for r in rows} == {"admin@example.com"} and len(rows) == 3


def test_a_delete_still_on_its_way_at_the_deadline_is_never_sent_again(
    app_env, fresh_tenant, drain, monkeypatch
):
    """The drain's deadline comes while the first deletes wait on Auth0: the job is handed over at once, the
    taker never sends those again (their audit rows say "attempted"), and an answer that comes after all
    reads done."""
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 24)
    slow = jobrunner.BULK_CONCURRENCY
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=4000, times=slow)
    try:
        job_id = jobrunner.start(identity=admin, action="delete", users=chosen)
        deadline = time.monotonic() + WAIT
        while len(audit_rows(app_env, "bulk_delete")) < slow and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not drain.drain(1.0)  # cut: the slow deletes outlast the deadline
        job = jobrunner.job(job_id)
        assert (job.status, job.note) == (INTERRUPTED, HANDED_OVER)  # handed over at the deadline
        # another instance takes over (here the same process under another owner id; its old run goes on)
        monkeypatch.setattr(shutdown, "DRAIN", Drain())
        monkeypatch.setattr(jobrunner, "INSTANCE", "instance-b")
        assert jobrunner.take_over(job_id)
        assert jobrunner.wait(job_id, WAIT)
        deadline = time.monotonic() + WAIT  # the old run's deletes are answered after all
        while time.monotonic() < deadline and any(
            r.state == "attempted" for r in audit_rows(app_env, "bulk_delete")
        ):
            time.sleep(0.1)
    finally:
        fresh_tenant.clear_faults()
    assert jobrunner.job(job_id).status == FINISHED
    assert deletes(fresh_tenant) == 24  # none sent twice
    rows = audit_rows(app_env, "bulk_delete")
    assert Counter(r.target_user_id for r in rows) == Counter(u.user_id for u in chosen)
    assert {r.state for r in rows} == {"ok"}
    assert outcomes(job_id) == [DONE] * 24  # the cut-short ones, answered after all, read done
