"""Bulk jobs (issue 19, part 3) against the dev tenant over real HTTP: a job outlives its tab, Cancel leaves
the rest "not started", an interrupted job resumes only the rest, viewers are refused below the UI, every
person gets exactly one audited change, and the Free plan's pacing sends no request Auth0 would refuse."""

from __future__ import annotations

import gc
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from admin_core import jobrunner, runtime
from admin_core.audit import Target
from admin_core.auth import IDENTITY_KEY, Role
from admin_core.domain import User
from admin_core.errors import NotAllowed
from admin_core.jobs import (
    CANCELLED,
    CUT_SHORT,
    DONE,
    FAILED,
    FINISHED,
    INTERRUPTED,
    NOT_STARTED,
    STALE_SECONDS,
    JobStore,
    Person,
    bulk_jobs,
    request_id,
)
from tests.app.test_support_faults import audit_rows
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.devtenant_proc import DevTenant
from tests.support.identities import identity_of

WAIT = 120  # seconds a job may take on a busy machine before the test gives up


def people(tenant, n: int) -> list[User]:
    """`n` generated database users (never a staff account)."""
    found = [
        u
        for u in tenant.users()
        if u["user_id"].startswith("auth0|")
        and not u["email"].endswith("@example.com")
        and not u.get("blocked")
    ]
    return [User(user_id=u["user_id"], email=u["email"], name=u.get("name")) for u in found[:n]]


def still_there(tenant, users: list[User]) -> set[str]:
    ids = {u["user_id"] for u in tenant.users()}
    return {u.user_id for u in users} & ids


def outcomes(job_id: str) -> list[str]:
    return [i.state for i in jobrunner.outcomes(job_id)]


def once_each(env, action: str, users: list[User]) -> None:
    """Exactly one audit row per person (and none for anyone else), each completed ok."""
    rows = audit_rows(env, action)
    assert Counter(r.target_user_id for r in rows) == Counter(u.user_id for u in users)
    assert {r.state for r in rows} == {"ok"}


def test_a_bulk_delete_job_deletes_each_person_with_one_audited_change(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 12)
    job_id = jobrunner.start(identity=admin, action="delete", users=chosen)
    assert jobrunner.wait(job_id, WAIT)
    job = jobrunner.job(job_id)
    assert job is not None and job.status == FINISHED and (job.done, job.failed, job.left) == (12, 0, 0)
    assert job.created_by == "admin@example.com"
    assert still_there(fresh_tenant, chosen) == set()
    once_each(app_env, "bulk_delete", chosen)


def test_a_bulk_block_and_a_role_change_run_as_jobs_too(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 4)
    job_id = jobrunner.start(identity=admin, action="block", users=chosen)
    assert jobrunner.wait(job_id, WAIT) and outcomes(job_id) == [DONE] * 4
    blocked = {u["user_id"] for u in fresh_tenant.users() if u.get("blocked")}
    assert {u.user_id for u in chosen} <= blocked
    once_each(app_env, "block", chosen)
    support = next(r for r in runtime.role_catalogue().roles if r.name == "Support Agent")
    job_id = jobrunner.start(identity=admin, action="role_add", users=chosen, role=support)
    assert jobrunner.wait(job_id, WAIT) and outcomes(job_id) == [DONE] * 4
    assert jobrunner.job(job_id).verb == "Add role Support Agent"
    rows = audit_rows(app_env, "bulk_role_add")
    assert sorted(r.target_user_id for r in rows) == sorted(u.user_id for u in chosen)
    assert {r.message for r in rows} == {"Added role Support Agent"}


def test_cancel_stops_the_job_and_leaves_the_rest_not_started(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 40)
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=1500, times=100)
    try:
        job_id = jobrunner.start(identity=admin, action="delete", users=chosen)
        jobrunner.cancel(identity=admin, job_id=job_id)
        assert jobrunner.wait(job_id, WAIT)
    finally:
        fresh_tenant.clear_faults()
    job = jobrunner.job(job_id)
    assert job is not None and job.status == CANCELLED
    states = Counter(outcomes(job_id))
    assert states[NOT_STARTED] >= 40 - jobrunner.BULK_CONCURRENCY and states[NOT_STARTED] + states[DONE] == 40
    gone = {u.user_id for u in chosen} - still_there(fresh_tenant, chosen)
    done = {i.person.user_id for i in jobrunner.outcomes(job_id) if i.state == DONE}
    assert gone == done  # the not started are untouched in Auth0, and have no audit row
    assert sorted(r.target_user_id for r in audit_rows(app_env, "bulk_delete")) == sorted(done)


def test_an_interrupted_job_resumes_only_the_rest(app_env, fresh_tenant):
    """A restart, simulated: the job's row says running, its owner (another process) stopped beating with
    two people done and one change on its way. Resume runs the three never tried, and nothing twice."""
    admin = identity_of(fresh_tenant, "admin@example.com")
    chosen = people(fresh_tenant, 6)
    store = jobrunner.get_jobs()
    job_id = store.create(
        action="delete",
        people=[Person(user_id=u.user_id, email=u.email, name=u.name) for u in chosen],
        created_by_sub=admin.sub,
        created_by_email=admin.email,
        owner="a-process-that-died",
    )
    audit = runtime.get_audit()
    for position in (0, 1, 2):  # what the dead process's job_item wrote: 0 and 1 done, 2 on its way
        target = Target(user_id=chosen[position].user_id)
        rid = request_id(job_id, position)
        audit.begin(actor=admin.actor, action="bulk_delete", target=target, request_id=rid)
        if position < 2:
            audit.complete(rid, ok=True)
    with runtime.get_audit().engine.begin() as conn:
        conn.execute(
            bulk_jobs.update()
            .where(bulk_jobs.c.id == job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=STALE_SECONDS * 2))
        )
    assert jobrunner.job(job_id).status == INTERRUPTED
    before = fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0)
    jobrunner.resume(identity=admin, job_id=job_id)
    assert jobrunner.wait(job_id, WAIT)
    assert jobrunner.job(job_id).status == FINISHED
    assert outcomes(job_id) == [DONE, DONE, FAILED, DONE, DONE, DONE]
    assert jobrunner.outcomes(job_id)[2].reason == CUT_SHORT
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) - before == 3
    assert still_there(fresh_tenant, chosen) == {u.user_id for u in chosen[:3]}  # 0-2: simulated only
    rows = Counter((r.target_user_id, r.state) for r in audit_rows(app_env, "bulk_delete"))
    assert rows == Counter(
        [(chosen[0].user_id, "ok"), (chosen[1].user_id, "ok"), (chosen[2].user_id, "attempted")]
        + [(u.user_id, "ok") for u in chosen[3:]]
    )  # one row per person: the cut-short one is not run again
    with pytest.raises(NotAllowed, match="Only an interrupted job"):
        jobrunner.resume(identity=admin, job_id=job_id)  # finished: nothing is run twice


def test_viewers_are_refused_below_the_ui(app_env, fresh_tenant):
    chosen = people(fresh_tenant, 3)
    viewer = identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)
    with pytest.raises(NotAllowed, match="Only admins"):
        jobrunner.start(identity=viewer, action="delete", users=chosen)
    claims_admin = identity_of(fresh_tenant, "viewer@example.com", Role.ADMIN)  # Auth0 says viewer
    with pytest.raises(NotAllowed, match="no longer an admin"):
        jobrunner.start(identity=claims_admin, action="delete", users=chosen)
    assert jobrunner.recent() == []
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 0
    # an interrupted job is resumed only by someone Auth0 calls an admin
    store = jobrunner.get_jobs()
    job_id = store.create(
        action="delete",
        people=[Person(user_id=u.user_id) for u in chosen],
        created_by_sub="auth0|someone",
        created_by_email=None,
        owner="gone",
    )
    store.end(job_id, owner="gone", status=INTERRUPTED)
    with pytest.raises(NotAllowed, match="no longer an admin"):
        jobrunner.resume(identity=claims_admin, job_id=job_id)
    with pytest.raises(NotAllowed, match="Only admins"):
        jobrunner.cancel(identity=viewer, job_id=job_id)
    assert jobrunner.job(job_id).status == INTERRUPTED and still_there(fresh_tenant, chosen) == {
        u.user_id for u in chosen
    }


def test_a_job_goes_on_when_its_tab_is_closed(sign_in, app_env, fresh_tenant):
    """The table's bulk delete starts the job and shows its progress panel; the session is then dropped
    (the AppTest gone, as a closed tab) and the job still finishes, every person deleted and audited once."""
    at = sign_in("admin")
    admin_id = at.session_state[IDENTITY_KEY].sub
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    frame = at.dataframe[0].value
    rows = [i for i, uid in enumerate(frame["user_id"]) if uid != admin_id]
    assert len(rows) > jobrunner.BULK_CONCURRENCY  # two rounds of 2 s: longer than the quick wait
    chosen = [User(user_id=frame["user_id"][i]) for i in rows]
    at.session_state["users.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    # each delete waits 2 s in the dev tenant: the job outlasts QUICK_SECONDS, so the panel shows
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", delay_ms=2000, times=100)
    try:
        at.button(key="bulk.delete").click().run()
        at.button(key="confirm.delete").click().run()
        assert not at.exception
        (bar,) = at.get("progress")
        assert "done" in bar.proto.text and f"left of {len(chosen)}" in bar.proto.text
        assert [b.label for b in at.button if b.key == "jobs.cancel.users"] == ["Cancel"]
        (job,) = jobrunner.recent()
        del at, bar  # the tab is closed: nothing of the session is left
        gc.collect()
        assert jobrunner.wait(job.id, WAIT)
    finally:
        fresh_tenant.clear_faults()
    assert jobrunner.job(job.id).status == FINISHED
    assert still_there(fresh_tenant, chosen) == set()
    once_each(app_env, "bulk_delete", chosen)


def test_the_audit_page_lists_jobs_and_resumes_an_interrupted_one(sign_in, app_env, fresh_tenant):
    chosen = people(fresh_tenant, 3)
    store = JobStore(runtime.get_audit())
    job_id = store.create(
        action="delete",
        people=[Person(user_id=u.user_id, email=u.email, name=u.name) for u in chosen],
        created_by_sub="auth0|someone",
        created_by_email="someone@example.com",
        owner="gone",
    )
    store.end(job_id, owner="gone", status=INTERRUPTED)
    at = sign_in("admin", page="pages/audit.py")
    assert not at.exception
    assert "Bulk jobs" in [h.value for h in at.header]
    at.button(key=f"jobs.resume.{job_id}").click().run()
    assert not at.exception
    assert jobrunner.wait(job_id, WAIT)
    assert outcomes(job_id) == [DONE] * 3 and still_there(fresh_tenant, chosen) == set()
    at.run()
    (items,) = [d.value for d in at.dataframe if "outcome" in d.value.columns]
    assert list(items["outcome"]) == ["done"] * 3 and set(items["user_id"]) == {u.user_id for u in chosen}


# --- the Free plan's rate limit ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def free_tenant():
    with DevTenant(users=40, rate_limit="free") as dev:
        yield dev


@pytest.fixture
def free_env(free_tenant, tmp_path, monkeypatch):
    free_tenant.reset()
    values = app_environment(free_tenant.base_url, tmp_path, AUTH0_MAX_RETRIES="0")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    yield values
    clear_app_caches()


def test_pacing_at_the_free_plans_limit_sends_no_request_auth0_refuses(free_env, free_tenant):
    """2 requests a second, burst 2: the job's pool of 16 waits on the rate headers, so with the SDK's
    retries off every request is answered (a 429 would fail a person) and none is sent twice."""
    admin = identity_of(free_tenant, "admin@example.com")
    chosen = people(free_tenant, 6)
    job_id = jobrunner.start(identity=admin, action="delete", users=chosen)
    assert jobrunner.wait(job_id, WAIT)
    assert [(i.state, i.reason) for i in jobrunner.outcomes(job_id)] == [(DONE, None)] * 6
    stats = free_tenant.stats()
    # the actor's standing (user, roles), then per person: the profile and roles kept for undo, the delete
    assert stats["management_requests"] == 2 + 6 * 3, stats["requests"]
    once_each(free_env, "bulk_delete", chosen)
