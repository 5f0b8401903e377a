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
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from admin_core import actions, runtime
from admin_core.auth import Identity
from admin_core.domain import User
from admin_core.errors import NotAllowed
from admin_core.jobs import (
    CANCELLED,
    FINISHED,
    INTERRUPTED,
    JOB_ACTIONS,
    NOT_STARTED,
    PENDING,
    Item,
    Job,
    JobStore,
    Person,
    instance_id,
    request_id,
)
from admin_core.roles import RoleInfo

log = logging.getLogger(__name__)

BULK_CONCURRENCY = 16  # requests in flight at most; the rate gate lowers it to what the tenant allows
HEARTBEAT_SECONDS = 2.0
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


def _launch(identity: Identity, job_id: str) -> None:
    store = get_jobs()
    flag = threading.Event()
    thread = threading.Thread(
        target=_run, args=(identity, job_id, store, flag), name=f"bulk-job-{job_id[:8]}", daemon=True
    )
    with _live_lock:
        _live[job_id] = flag
        _threads[job_id] = thread
    thread.start()


def _run(identity: Identity, job_id: str, store: JobStore, cancelled: threading.Event) -> None:
    finished = threading.Event()
    beating = threading.Thread(
        target=_beat, args=(job_id, store, cancelled, finished), name=f"bulk-beat-{job_id[:8]}", daemon=True
    )
    beating.start()
    status = FINISHED
    try:
        job = store.get(job_id)
        if job is None:
            return
        role = None
        if job.params.get("role_id"):
            role = RoleInfo(role_id=job.params["role_id"], name=job.params.get("role_name") or "")
        items = store.items(job_id, states=(PENDING,))

        def one(item: Item) -> None:
            if cancelled.is_set():
                return
            try:
                error = actions.job_item(
                    identity=identity,
                    action=job.action,
                    user=_user(item.person),
                    request_id=request_id(job_id, item.position),
                    role=role,
                )
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
    except Exception:
        log.exception("bulk job %s stopped unexpectedly", job_id)
        status = INTERRUPTED
    finally:
        finished.set()
        try:
            store.end(job_id, owner=INSTANCE, status=status)
        except Exception:
            log.exception("bulk job %s: its end could not be written", job_id)
        with _live_lock:
            _live.pop(job_id, None)
        runtime.clear_listing()


def _beat(job_id: str, store: JobStore, cancelled: threading.Event, finished: threading.Event) -> None:
    while not finished.wait(HEARTBEAT_SECONDS):
        try:
            if store.beat(job_id, owner=INSTANCE):
                cancelled.set()
        except Exception as exc:  # the next beat tries again; a long outage shows the job as interrupted
            log.warning("bulk job %s: heartbeat not written: %s", job_id, exc)
