"""Bulk jobs (issue 19, part 3): 200 deletes as a job, at the Free plan's rate limit and with no limit.

Run through `admin_core.jobrunner` as the Users page starts them (the actor checked once, then one audited
delete per person on the job's pool, every request paced by the rate gate). DELETED_PROFILE_DAYS=0 for the
target rows, so a delete is one request (the issue's floor: 200 deletes at 2 a second = 100 s); with the
default 30 days each delete first reads the profile and roles to keep them (3 requests), measured apart.

- Free plan (`--rate-limit free`: burst 2, 2/s): wall time against the floor of the requests the job
  actually sent, `(requests - burst) / rate`, and the people the job could not delete (target 0).
- No limit, 50 ms latency: wall time against one request's latency per 10 people (target <= 3x).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from admin_core import jobrunner, runtime
from admin_core.auth import Identity, Role
from admin_core.domain import User
from bench.env import Counter, app_settings, clear_app_caches
from tests.support.devtenant_proc import DevTenant

FREE_BURST, FREE_RATE = 2, 2.0  # devtenant/control.py RateLimiter, the Free plan's
STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}


def _admin(tenant: DevTenant) -> Identity:
    admin = next(u for u in tenant.users() if u.get("email") == "admin@example.com")
    return Identity(
        sub=admin["user_id"],
        email=admin["email"],
        name=admin.get("name"),
        picture=None,
        expires_at=int(time.time()) + 3600,
        role=Role.ADMIN,
    )


def _people(tenant: DevTenant, n: int) -> list[User]:
    found = [u for u in tenant.users() if u.get("email") not in STAFF]
    if len(found) < n:
        raise RuntimeError(f"the dev tenant has {len(found)} people to delete, {n} asked")
    return [User(user_id=u["user_id"], email=u.get("email"), name=u.get("name")) for u in found[:n]]


def _one_job(tenant: DevTenant, n: int, *, keep_days: int) -> dict:
    os.environ["DELETED_PROFILE_DAYS"] = str(keep_days)
    clear_app_caches()
    identity = _admin(tenant)
    people = _people(tenant, n)
    runtime.get_directory().actor_standing(identity.sub)  # the actor's check, warmed: not the job's cost
    counter = Counter(tenant)
    before = counter.snapshot()
    started, cpu = time.perf_counter(), time.process_time()
    job_id = jobrunner.start(identity=identity, action="delete", users=people)
    if not jobrunner.wait(job_id, timeout=900):
        raise RuntimeError(f"the bulk job {job_id} did not end within 15 minutes")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    delta = Counter.delta(before, counter.snapshot())
    job = jobrunner.job(job_id)
    assert job is not None
    left = {u["user_id"] for u in tenant.users()} & {u.user_id for u in people}
    return {
        "people": n,
        "keep_days": keep_days,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),  # this process's CPU time meanwhile (a loaded machine shows here)
        "requests": delta["management_requests"],
        "detail": delta["requests"],
        "done": job.done,
        "failed": job.failed,
        "still_in_tenant": len(left),
        "reasons": sorted({i.reason or "" for i in jobrunner.outcomes(job_id) if i.reason})[:3],
    }


def _latency(tenant: DevTenant, rounds: int = 15) -> float:
    """Median seconds of one Management API request through the app's client (GET /users/{id})."""
    directory = runtime.get_directory()
    user_id = _people(tenant, 1)[0].user_id
    directory.get_user(user_id)  # token and connection warmed
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        directory.get_user(user_id)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bulk_runs(workroot: Path, *, quick: bool = False, latency_ms: int = 50, n: int = 200) -> dict:
    """The two target runs (and the no-limit run with the undo copies kept), each on a fresh dev tenant."""
    n_free = 40 if quick else n
    out: dict = {}
    # app_settings puts back every setting afterwards, DELETED_PROFILE_DAYS (changed per run) among them
    with (
        DevTenant(users=n_free + 20, rate_limit="free") as tenant,
        app_settings(tenant, workroot / "bulk-free"),
    ):
        run = _one_job(tenant, n_free, keep_days=0)
        run["floor_s"] = round(max(0, run["requests"] - FREE_BURST) / FREE_RATE, 2)
        run["ratio"] = round(run["seconds"] / run["floor_s"], 3) if run["floor_s"] else None
        out["free"] = run
    with (
        DevTenant(users=2 * n + 20, latency_ms=latency_ms) as tenant,
        app_settings(tenant, workroot / "bulk-none"),
    ):
        latency = _latency(tenant)
        for name, days in (("none", 0), ("none_keep", 30)):
            run = _one_job(tenant, n, keep_days=days)
            run["latency_s"] = round(latency, 4)
            run["per_10_users"] = round(run["seconds"] / (run["people"] / 10) / latency, 3)
            out[name] = run
    return out
