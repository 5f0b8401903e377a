"""Bulk jobs on the server: a thread per job in this process, so a job goes on when its tab is closed.

Started from the session layer (a click on a bulk bar): the actor is checked with Auth0 first
(`actions.check_job`, as every change), then the job is written to the audit database
(admin_core.jobs) owned by this process, and a thread works through its people on a bounded pool of
BULK_CONCURRENCY workers. Every Management API request of the pool waits on the tenant's rate gate
(admin_core.auth0.client: the `x-ratelimit-*` headers), so on a Free plan the job runs at the tenant's pace
with no 429, and with no limit it runs BULK_CONCURRENCY at a time. A heartbeat every HEARTBEAT_SECONDS
says the owner is alive and brings a Cancel asked on any instance. A job whose process died shows as
interrupted (admin_core.jobs.STALE_SECONDS without a beat); `resume` checks the actor again, claims it
in the database and runs only the people not yet tried. This module draws nothing (admin_core.ui.jobs does).

On SIGTERM (admin_core.shutdown) a job hands over instead of failing its people: the drain hook stops
every job of this process from taking anyone new, lets the changes already talking to Auth0 finish (by the
drain's deadline), and ends the job interrupted with the note HANDED_OVER, the untried still untried (no
audit row). It announces that (a NOTIFY, admin_core.signals); every other instance sharing a PostgreSQL
audit database (`watch`, started once per process) also sweeps at start-up and every SWEEP_SECONDS, so a
missed announcement loses nothing. One instance wins the claim (JobStore.claim), asks Auth0 whether the
job's creator is still an admin, and runs the rest as them; if not, the job stays interrupted with the
reason in words (NOT_TAKEN_OVER), for an admin to resume by hand. With SQLite the app is one process: the
job stays interrupted and is resumed by hand after the restart.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from admin_core import actions, runtime, shutdown
from admin_core.auth import Identity, Role
from admin_core.domain import User
from admin_core.errors import NotAllowed
from admin_core.jobs import (
    CANCELLED,
    FINISHED,
    HANDED_OVER,
    INTERRUPTED,
    JOB_ACTIONS,
    NOT_STARTED,
    NOT_TAKEN_OVER,
    PENDING,
    Item,
    Job,
    JobStore,
    Person,
    instance_id,
    request_id,
)
from admin_core.roles import RoleInfo
from admin_core.signals import Change

log = logging.getLogger(__name__)

BULK_CONCURRENCY = 16  # requests in flight at most; the rate gate lowers it to what the tenant allows
HEARTBEAT_SECONDS = 2.0
SWEEP_SECONDS = 5.0  # how often a surviving instance looks for jobs to take over (a missed announcement)
HANDOVER_MARGIN_SECONDS = 0.3  # the drain hook writes the handover this long before the drain's deadline
#: This process, as the owner of the jobs it runs.
INSTANCE = instance_id()

_live: dict[str, threading.Event] = {}  # job id -> its cancel flag, for the jobs this process runs now
_live_lock = threading.Lock()

UNEXPECTED = "Failed with an unexpected error in the app; the server log has the details."


@st.cache_resource(show_spinner=False)
def get_jobs() -> JobStore:
    """The job tables, in the audit database."""
    return JobStore(runtime.get_audit())


def _person(user: User) -> Person:
    return Person(user_id=user.user_id, email=user.email, name=user.name)


def _user(person: Person) -> User:
    return User(user_id=person.user_id, email=person.email, name=person.name)


def start(*, identity: Identity, action: str, users: list[User], role: RoleInfo | None = None) -> str:
    """Check the actor, write the job, start its thread; returns the job id (raises NotAllowed)."""
    if action not in JOB_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    if action.startswith("role_") and role is None:
        raise ValueError("a role change needs its role")
    actions.check_job(identity=identity, action=action, users=users)
    params = {"role_id": role.role_id, "role_name": role.name} if role is not None else {}
    job_id = get_jobs().create(
        action=action,
        people=[_person(u) for u in users],
        created_by_sub=identity.sub,
        created_by_email=identity.email,
        owner=INSTANCE,
        params=params,
    )
    _launch(identity, job_id)
    return job_id


def resume(*, identity: Identity, job_id: str) -> None:
    """Run the rest of an interrupted job (only those not tried), as this admin, after Auth0 says they are
    one. Raises NotAllowed, in words, when it cannot."""
    store = get_jobs()
    job = store.get(job_id)
    if job is None or job.status != INTERRUPTED:
        raise NotAllowed("Only an interrupted job can be resumed; this one is not (any more).")
    rest = [_user(i.person) for i in store.items(job_id, states=(PENDING, NOT_STARTED))]
    actions.check_job(identity=identity, action=job.action, users=rest)
    if not store.claim(job_id, owner=INSTANCE):
        raise NotAllowed("Another admin (or app instance) resumed this job a moment ago.")
    _launch(identity, job_id)


def cancel(*, identity: Identity, job_id: str) -> None:
    """Stop after the changes already on their way; the rest stay "not started". Admins only."""
    if not identity.can_change:
        raise NotAllowed("Only admins can change users.")
    get_jobs().request_cancel(job_id)
    with _live_lock:
        flag = _live.get(job_id)
    if flag is not None:
        flag.set()


def job(job_id: str) -> Job | None:
    return get_jobs().get(job_id)


def recent(*, limit: int = 20) -> list[Job]:
    return get_jobs().recent(limit=limit)


def outcomes(job_id: str) -> list[Item]:
    return get_jobs().items(job_id)


def running_here(job_id: str) -> bool:
    with _live_lock:
        return job_id in _live


def wait(job_id: str, timeout: float | None = None) -> bool:
    """For tests and the bench: block until this process's run of the job ends; False on timeout."""
    with _live_lock:
        thread = _threads.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


_threads: dict[str, threading.Thread] = {}
_owners: dict[str, str] = {}  # job id -> the owner its run here writes as (INSTANCE when it started)


def _launch(identity: Identity, job_id: str) -> None:
    _hook_drain()
    store = get_jobs()
    flag = threading.Event()
    owner = INSTANCE
    thread = threading.Thread(
        target=_run, args=(identity, job_id, store, flag, owner), name=f"bulk-job-{job_id[:8]}", daemon=True
    )
    with _live_lock:
        _live[job_id] = flag
        _threads[job_id] = thread
        _owners[job_id] = owner
    thread.start()


def _run(identity: Identity, job_id: str, store: JobStore, cancelled: threading.Event, owner: str) -> None:
    finished = threading.Event()
    beating = threading.Thread(
        target=_beat,
        args=(job_id, store, cancelled, finished, owner),
        name=f"bulk-beat-{job_id[:8]}",
        daemon=True,
    )
    beating.start()
    status, note = FINISHED, None
    try:
        job = store.get(job_id)
        if job is None:
            return
        role = None
        if job.params.get("role_id"):
            role = RoleInfo(role_id=job.params["role_id"], name=job.params.get("role_name") or "")
        items = store.items(job_id, states=(PENDING,))

        def one(item: Item) -> None:
            if cancelled.is_set() or shutdown.DRAIN.draining:  # cancelled, or handing over: left untried
                return
            try:
                error = actions.job_item(
                    identity=identity,
                    action=job.action,
                    user=_user(item.person),
                    request_id=request_id(job_id, item.position),
                    role=role,
                )
            except shutdown.Draining:  # the drain began after the check above: nothing was recorded
                return
            except Exception:
                log.exception(
                    "bulk job %s: %s of %s failed unexpectedly", job_id, job.action, item.person.user_id
                )
                error = UNEXPECTED
            if error is not None:  # done is the audit row's "ok": no second write for it
                store.fail_item(job_id, item.position, reason=error)

        with ThreadPoolExecutor(
            max_workers=BULK_CONCURRENCY, thread_name_prefix=f"bulk-{job_id[:8]}"
        ) as pool:
            for future in [pool.submit(one, item) for item in items]:
                future.result()
        if cancelled.is_set():
            status = CANCELLED
        elif shutdown.DRAIN.draining and store.items(job_id, states=(PENDING, NOT_STARTED)):
            status, note = INTERRUPTED, HANDED_OVER
    except Exception:
        log.exception("bulk job %s stopped unexpectedly", job_id)
        status = INTERRUPTED
    finally:
        finished.set()
        try:
            if store.end(job_id, owner=owner, status=status, note=note) and note == HANDED_OVER:
                _announce(job_id)
        except Exception:
            log.exception("bulk job %s: its end could not be written", job_id)
        with _live_lock:
            if _live.get(job_id) is cancelled:  # not a later run of the same job (a takeover) started here
                del _live[job_id]
                _owners.pop(job_id, None)
        runtime.clear_listing()


def _beat(
    job_id: str, store: JobStore, cancelled: threading.Event, finished: threading.Event, owner: str
) -> None:
    while not finished.wait(HEARTBEAT_SECONDS):
        try:
            if store.beat(job_id, owner=owner):  # cancelled, or taken over elsewhere: take no one new
                cancelled.set()
        except Exception as exc:  # the next beat tries again; a long outage shows the job as interrupted
            log.warning("bulk job %s: heartbeat not written: %s", job_id, exc)


# --- handing over at a shutdown, and taking over on a surviving instance -----------------------------------

_hooked: list[
    shutdown.Drain
] = []  # the drains `_hand_over` is registered on (one per process, tests swap it)
_wake = threading.Event()  # an announcement came: sweep now


def _hook_drain() -> None:
    drain = shutdown.DRAIN
    with _live_lock:
        if any(d is drain for d in _hooked):
            return
        _hooked.append(drain)
    drain.on_drain(_hand_over)


def _hand_over(deadline: float) -> None:
    """The drain hook: the workers take no one new once the drain has begun (`_run`); wait for each job's
    run to end by `deadline`, and hand over now any still waiting on Auth0 (its audit row stays
    "attempted", so the taker never sends that person's change again)."""
    with _live_lock:
        running = [(job_id, _threads[job_id], _owners[job_id]) for job_id in _live if job_id in _threads]
    for _job_id, thread, _owner in running:
        thread.join(max(0.0, deadline - time.monotonic() - HANDOVER_MARGIN_SECONDS))
    store = get_jobs()
    for job_id, thread, owner in running:
        if thread.is_alive():
            log.warning(
                "bulk job %s: a change is still on its way at the drain deadline; handed over", job_id
            )
            if store.end(job_id, owner=owner, status=INTERRUPTED, note=HANDED_OVER):
                _announce(job_id)


def _announce(job_id: str) -> None:
    """Tell the other instances a job is free to take over (never raises; the sweep is the fallback)."""
    try:
        runtime.get_signals().publish(Change(job_id=job_id))
    except Exception:
        log.exception("bulk job %s: the handover could not be announced", job_id)


def _creator(job: Job) -> Identity:
    """The job's creator, as whom a taken-over job runs (Auth0 is asked before it does)."""
    return Identity(
        sub=job.created_by_sub,
        email=job.created_by_email,
        name=None,
        picture=None,
        expires_at=int(time.time()) + 3600,
        role=Role.ADMIN,
    )


_UNCHECKED = actions.UNCHECKED.split("{", 1)[0]


def take_over(job_id: str) -> bool:
    """Take over a job handed over at a shutdown (or whose owner stopped beating) and run the people not
    yet tried, as its creator, once Auth0 says the creator is still an admin. True when this instance
    runs it now. Exactly one instance wins the claim; the others get False."""
    with _live_lock:
        mine = job_id in _live and _owners.get(job_id) == INSTANCE
    if shutdown.DRAIN.draining or mine:  # never a second run of a job this instance runs now
        return False
    store = get_jobs()
    if not store.claim(job_id, owner=INSTANCE, handed_over_only=True):
        return False
    job = store.get(job_id)
    if job is None:
        return False
    creator = _creator(job)
    try:
        # users=[]: a refusal is the job's, said in its note, not one audit row per person left
        actions.check_job(identity=creator, action=job.action, users=[])
    except NotAllowed as exc:
        if exc.message.startswith(_UNCHECKED):  # Auth0 could not say: the next sweep asks again
            note = HANDED_OVER
            log.warning("bulk job %s: not taken over yet, the creator could not be checked", job_id)
        else:
            note = NOT_TAKEN_OVER.format(reason=_refusal(job, exc.message))
        store.end(job_id, owner=INSTANCE, status=INTERRUPTED, note=note)
        return False
    except Exception:  # unclaim it for the next sweep rather than leave it "running" with no one on it
        store.end(job_id, owner=INSTANCE, status=INTERRUPTED, note=HANDED_OVER)
        raise
    log.info("bulk job %s: taken over by this instance", job_id)
    _launch(creator, job_id)
    return True


def _refusal(job: Job, message: str) -> str:
    who = job.created_by
    if message == actions.DEMOTED:
        return f"its creator, {who}, is no longer an admin in Auth0, so no instance runs it as them."
    if message == actions.BLOCKED:
        return f"its creator, {who}, is blocked in Auth0, so no instance runs it as them."
    if message == actions.GONE:
        return f"its creator, {who}, no longer exists in Auth0, so no instance runs it as them."
    return f"it could not run as its creator, {who}: {message}"


def sweep() -> int:
    """Take over every job free to take (start-up, a timer, an announcement); returns how many."""
    taken = 0
    for job_id in get_jobs().takeable():
        try:
            taken += take_over(job_id)
        except Exception:
            log.exception("bulk job %s: taking it over failed; the next sweep tries again", job_id)
    return taken


def _heard(change: Change) -> None:
    # In the listener thread: only wake the sweeper (checking the creator asks Auth0, not done here).
    if change.job_id or change.everything:
        _wake.set()


def _sweep_forever() -> None:
    _wake.set()  # at start-up: what was handed over while no instance listened
    while not shutdown.DRAIN.draining:
        _wake.wait(SWEEP_SECONDS)
        _wake.clear()
        if shutdown.DRAIN.draining:  # an instance shutting down takes nothing over
            return
        try:
            sweep()
        except Exception:
            log.exception("sweeping for bulk jobs to take over failed; trying again in %.0f s", SWEEP_SECONDS)


@st.cache_resource(show_spinner=False)
def watch() -> bool:
    """Once per server process (app.py): hand this process's jobs over on SIGTERM, and take over those
    other instances hand over (announced, swept at start-up and every SWEEP_SECONDS). Taking over needs a
    PostgreSQL audit database shared by the instances; with SQLite only the handover is installed."""
    _hook_drain()
    try:
        if runtime.get_audit().engine.dialect.name != "postgresql":
            return False
        runtime.get_signals().subscribe(_heard)
    except Exception as exc:  # settings the gate explains, or no database yet: no takeover here
        log.warning("bulk jobs handed over elsewhere will not be taken over by this instance: %s", exc)
        return False
    threading.Thread(target=_sweep_forever, name="bulk-takeover", daemon=True).start()
    return True
