"""Bulk jobs: a bulk delete, block, unblock or role change, kept in the audit database person by person.

A job row says who started which action on how many people, its status (running, finished, cancelled,
interrupted), and which app instance owns it with that owner's heartbeat; one row per person says
pending, started (the change is on its way to Auth0), done, failed (with the reason) or not started. The
job is claimed in the database (`claim`: one UPDATE naming the owner), so it has one owner at a time, and
a job whose owner stopped beating (the process was restarted or killed) shows as interrupted and can be
taken over and resumed for the rest by any instance sharing the database.

No Streamlit here: the runner (admin_core.jobrunner) and the pages call it.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from admin_core.audit import AuditError, AuditStore, UTCDateTime, audit_events, database_clock

#: What a job does to each person: the verb of the progress panel and the audit page.
JOB_ACTIONS: dict[str, str] = {
    "delete": "Delete",
    "block": "Block",
    "unblock": "Unblock",
    "role_add": "Add role",
    "role_remove": "Remove role",
}
RUNNING, FINISHED, CANCELLED, INTERRUPTED = "running", "finished", "cancelled", "interrupted"
STATUSES = (RUNNING, FINISHED, CANCELLED, INTERRUPTED)
PENDING, STARTED, DONE, FAILED, NOT_STARTED = "pending", "started", "done", "failed", "not_started"
ITEM_STATES = (PENDING, STARTED, DONE, FAILED, NOT_STARTED)
#: How each person's outcome reads on the audit page.
ITEM_WORDS = {
    PENDING: "waiting",
    STARTED: "in progress",
    DONE: "done",
    FAILED: "failed",
    NOT_STARTED: "not started",
}
THIS_RUN = "this_run"  # a count: people through since the latest (re)start, for the time remaining
#: A running job whose owner has not beaten for this long is taken to be interrupted.
STALE_SECONDS = 15.0
#: What an interrupted change says: Auth0 may or may not have made it; its audit row stays "attempted".
CUT_SHORT = (
    "The app stopped while this change was on its way to Auth0: it may or may not have been made (its "
    "audit entry stays 'attempted'). Check the person before trying again."
)
#: A job's note, in the words of the audit page: why it is interrupted and what happens next.
HANDED_OVER = (
    "Handed over: the app instance running it was shutting down, so it stopped after the changes already "
    "on their way to Auth0. Another instance takes over the rest (or Resume, after a restart)."
)
NOT_TAKEN_OVER = "Not taken over: {reason} An admin can resume the rest by hand."

_metadata = sa.MetaData()

bulk_jobs = sa.Table(
    "bulk_jobs",
    _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),  # e.g. the role of a role change: {"role_id", "role_name"}
    sa.Column("created_by_sub", sa.String, nullable=False),
    sa.Column("created_by_email", sa.String, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    sa.Column("started_at", UTCDateTime, nullable=True),  # of the latest run (a resume starts a new one)
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(128), nullable=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    # Why it stopped, in words (HANDED_OVER, NOT_TAKEN_OVER); added to older databases by `_engine`.
    sa.Column("note", sa.Text, nullable=True),
    sa.CheckConstraint(
        "status IN ('running', 'finished', 'cancelled', 'interrupted')", name="ck_bulk_jobs_status"
    ),
)

bulk_job_items = sa.Table(
    "bulk_job_items",
    _metadata,
    sa.Column("job_id", sa.String(32), sa.ForeignKey("bulk_jobs.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.String, nullable=False),
    sa.Column("email", sa.String, nullable=True),
    sa.Column("name", sa.String, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(
        "state IN ('pending', 'started', 'done', 'failed', 'not_started')", name="ck_bulk_job_items_state"
    ),
)


def instance_id() -> str:
    """This process, as an owner: host, pid and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Person:
    """Whom an item is about (what the audit row and the listing of outcomes name)."""

    user_id: str
    email: str | None = None
    name: str | None = None

    @property
    def who(self) -> str:
        return self.email or self.name or self.user_id


@dataclass(frozen=True)
class Item:
    position: int
    person: Person
    state: str
    reason: str | None = None


@dataclass(frozen=True)
class Job:
    """One job and its counts, as the database has them now."""

    id: str
    action: str
    params: dict[str, Any]
    created_by_sub: str
    created_by_email: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stored_status: str
    total: int
    owner: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    counts: dict[str, int] = field(default_factory=dict)
    note: str | None = None  # why it stopped, in words (HANDED_OVER, NOT_TAKEN_OVER)

    @property
    def status(self) -> str:
        """Stored status, except that a running job whose owner stopped beating is interrupted."""
        if self.stored_status == RUNNING and self.stale():
            return INTERRUPTED
        return self.stored_status

    def stale(self, now: datetime | None = None) -> bool:
        beat = self.heartbeat_at or self.started_at or self.created_at
        return ((now or datetime.now(UTC)) - beat).total_seconds() > STALE_SECONDS

    @property
    def done(self) -> int:
        return self.counts.get(DONE, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(FAILED, 0)

    @property
    def left(self) -> int:
        return self.counts.get(PENDING, 0) + self.counts.get(STARTED, 0) + self.counts.get(NOT_STARTED, 0)

    @property
    def created_by(self) -> str:
        return self.created_by_email or self.created_by_sub

    @property
    def verb(self) -> str:
        role = self.params.get("role_name")
        return f"{JOB_ACTIONS.get(self.action, self.action)} {role}" if role else JOB_ACTIONS[self.action]

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Time remaining at the pace of this run so far (None until one person is through)."""
        if self.status != RUNNING or self.started_at is None:
            return None
        through = self.counts.get(THIS_RUN, 0)
        if through <= 0:
            return None
        spent = ((now or datetime.now(UTC)) - self.started_at).total_seconds()
        return spent / through * (self.counts.get(PENDING, 0) + self.counts.get(STARTED, 0))


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _now(conn: sa.Connection | None = None) -> datetime:
    """The database's clock on PostgreSQL, so every instance reads one clock for heartbeats and their
    staleness (a host whose clock ran ahead would take over a live job); this process's clock otherwise."""
    return (database_clock(conn) if conn is not None else None) or _wall_clock()


class JobStore:
    """The job tables, in the audit database (the same engine: SQLite or PostgreSQL)."""

    def __init__(self, audit: AuditStore):
        self._audit = audit
        self._ready = False

    def _engine(self) -> sa.Engine:
        if not self._ready:
            self._audit.ensure_schema()  # the audit tables first: the same database, created in turn
            try:
                with self._audit.engine.begin() as conn:
                    _metadata.create_all(conn, checkfirst=True)
            except exc.SQLAlchemyError as error:
                if "already exists" not in str(error).lower():  # another process won the race
                    raise AuditError(f"Could not prepare the job tables: {_reason(error)}.") from None
            self._add_note_column()
            self._ready = True
        return self._audit.engine

    def _add_note_column(self) -> None:
        """A database made before jobs had a note gets the column (once; a racing process may add it)."""
        engine = self._audit.engine
        try:
            with engine.connect() as conn:
                if "note" in {c["name"] for c in sa.inspect(conn).get_columns("bulk_jobs")}:
                    return
            with engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE bulk_jobs ADD COLUMN note TEXT"))
        except exc.SQLAlchemyError as error:
            text = str(error).lower()
            if "duplicate column" not in text and "already exists" not in text:
                raise AuditError(f"Could not prepare the job tables: {_reason(error)}.") from None

    def _write(self, work) -> Any:
        try:
            with self._audit.writing(), self._engine().begin() as conn:
                return work(conn)
        except exc.SQLAlchemyError as error:
            raise AuditError(f"Could not write the job to the audit database: {_reason(error)}.") from None

    def _read(self, work) -> Any:
        try:
            with self._engine().connect() as conn:
                return work(conn)
        except exc.SQLAlchemyError as error:
            raise AuditError(f"Could not read the jobs from the audit database: {_reason(error)}.") from None

    # --- writing ---------------------------------------------------------------------------------------

    def create(
        self,
        *,
        action: str,
        people: Sequence[Person],
        created_by_sub: str,
        created_by_email: str | None,
        owner: str,
        params: dict[str, Any] | None = None,
    ) -> str:
        """A new running job owned by `owner`, every person pending; returns its id."""
        if action not in JOB_ACTIONS:
            raise ValueError(f"unknown job action {action!r}")
        job_id = uuid.uuid4().hex

        def work(conn: sa.Connection) -> str:
            now = _now(conn)
            conn.execute(
                bulk_jobs.insert().values(
                    id=job_id,
                    action=action,
                    params=json.loads(json.dumps(params or {})),
                    created_by_sub=created_by_sub,
                    created_by_email=created_by_email,
                    created_at=now,
                    started_at=now,
                    status=RUNNING,
                    total=len(people),
                    owner=owner,
                    heartbeat_at=now,
                    cancel_requested=False,
                )
            )
            if people:
                conn.execute(
                    bulk_job_items.insert(),
                    [
                        {
                            "job_id": job_id,
                            "position": i,
                            "user_id": p.user_id,
                            "email": p.email,
                            "name": p.name,
                            "state": PENDING,
                        }
                        for i, p in enumerate(people)
                    ],
                )
            return job_id

        return self._write(work)

    def claim(self, job_id: str, *, owner: str, handed_over_only: bool = False) -> bool:
        """Take over an interrupted job (owner gone: stored so, or its heartbeat stale) for `owner`; its
        untried people become pending again. One UPDATE decides, so two instances never both win.
        `handed_over_only` (an instance taking over by itself): only a job handed over at a shutdown or
        whose owner stopped beating, never one an instance already declined (NOT_TAKEN_OVER)."""
        c = bulk_jobs.c

        def work(conn: sa.Connection) -> bool:
            now = _now(conn)
            won = conn.execute(
                bulk_jobs.update()
                .where(c.id == job_id, _takeable(now, handed_over_only=handed_over_only))
                .values(
                    status=RUNNING,
                    owner=owner,
                    heartbeat_at=now,
                    started_at=now,
                    finished_at=None,
                    cancel_requested=False,
                    note=None,
                )
            ).rowcount
            if won != 1:
                return False
            _cut_short(conn, job_id)
            conn.execute(
                bulk_job_items.update()
                .where(bulk_job_items.c.job_id == job_id, bulk_job_items.c.state == NOT_STARTED)
                .values(state=PENDING)
            )
            return True

        return self._write(work)

    def beat(self, job_id: str, *, owner: str) -> bool:
        """The owner is alive; returns whether it should stop: a cancel was asked (from any instance), or
        another instance took the job over (this owner's beats had stopped reaching the database)."""

        def work(conn: sa.Connection) -> bool:
            conn.execute(
                bulk_jobs.update()
                .where(bulk_jobs.c.id == job_id, bulk_jobs.c.owner == owner, bulk_jobs.c.status == RUNNING)
                .values(heartbeat_at=_now(conn))
            )
            row = conn.execute(
                sa.select(bulk_jobs.c.cancel_requested, bulk_jobs.c.owner).where(bulk_jobs.c.id == job_id)
            ).first()
            return row is None or bool(row.cancel_requested) or row.owner != owner

        return self._write(work)

    def request_cancel(self, job_id: str) -> None:
        self._write(
            lambda conn: conn.execute(
                bulk_jobs.update()
                .where(bulk_jobs.c.id == job_id, bulk_jobs.c.status == RUNNING)
                .values(cancel_requested=True)
            )
        )

    def fail_item(self, job_id: str, position: int, *, reason: str) -> None:
        """The person's change failed: why, in the words the admin sees (the audit row has it too)."""
        c = bulk_job_items.c
        statement = (
            bulk_job_items.update()
            .where(c.job_id == job_id, c.position == position)
            .values(state=FAILED, reason=reason, finished_at=_now())
        )
        self._write(lambda conn: conn.execute(statement))

    def end(self, job_id: str, *, owner: str, status: str, note: str | None = None) -> bool:
        """The run is over (finished, cancelled, or interrupted at shutdown, `note` saying why in words):
        the untried become not started. Only while `owner` still owns the job: once another instance has
        taken it over, a late end from the old owner changes nothing (returns False)."""

        def work(conn: sa.Connection) -> bool:
            owned = conn.execute(
                bulk_jobs.update()
                .where(bulk_jobs.c.id == job_id, bulk_jobs.c.owner == owner)
                .values(status=status, finished_at=_now(conn), heartbeat_at=_now(conn), note=note)
            ).rowcount
            if owned != 1:
                return False
            conn.execute(
                bulk_job_items.update()
                .where(
                    bulk_job_items.c.job_id == job_id,
                    bulk_job_items.c.state == PENDING,
                    ~sa.exists().where(audit_events.c.request_id == _request_id_column()),
                )
                .values(state=NOT_STARTED)
            )
            return True

        return bool(self._write(work))

    # --- reading ---------------------------------------------------------------------------------------

    def takeable(self) -> list[str]:
        """Jobs an instance may take over by itself (`claim(..., handed_over_only=True)`), oldest first."""

        def work(conn: sa.Connection) -> list[str]:
            statement = (
                sa.select(bulk_jobs.c.id)
                .where(_takeable(_now(conn), handed_over_only=True))
                .order_by(bulk_jobs.c.created_at)
            )
            return list(conn.execute(statement).scalars().all())

        return list(self._read(work))

    def get(self, job_id: str) -> Job | None:
        jobs = self._jobs(sa.select(bulk_jobs).where(bulk_jobs.c.id == job_id))
        return jobs[0] if jobs else None

    def recent(self, *, limit: int = 20) -> list[Job]:
        """The newest jobs first, running ones among them."""
        return self._jobs(sa.select(bulk_jobs).order_by(bulk_jobs.c.created_at.desc()).limit(limit))

    def items(self, job_id: str, *, states: Sequence[str] = ITEM_STATES) -> list[Item]:
        """Each person of the job with their outcome now (from the audit row the job's change wrote)."""
        state, reason, _ = _outcome_columns()
        c = bulk_job_items.c
        statement = (
            sa.select(c.position, c.user_id, c.email, c.name, state.label("state"), reason.label("reason"))
            .select_from(_with_audit())
            .where(c.job_id == job_id)
            .order_by(c.position)
        )
        rows = self._read(lambda conn: conn.execute(statement).mappings().all())
        return [
            Item(
                position=r["position"],
                person=Person(user_id=r["user_id"], email=r["email"], name=r["name"]),
                state=r["state"],
                reason=r["reason"],
            )
            for r in rows
            if r["state"] in states
        ]

    def _jobs(self, statement: sa.Select) -> list[Job]:
        c = bulk_job_items.c
        state, _, finished_at = _outcome_columns()

        def work(conn: sa.Connection) -> list[Job]:
            rows = conn.execute(statement).mappings().all()
            counts: dict[str, dict[str, int]] = {r["id"]: {} for r in rows}
            if counts:
                tally = conn.execute(
                    sa.select(c.job_id, state, sa.func.count())
                    .select_from(_with_audit())
                    .where(c.job_id.in_(list(counts)))
                    .group_by(c.job_id, state)
                )
                for job_id, each, n in tally:
                    counts[job_id][each] = int(n)
                j = bulk_jobs.c
                this_run = conn.execute(
                    sa.select(c.job_id, sa.func.count())
                    .select_from(_with_audit().join(bulk_jobs, j.id == c.job_id))
                    .where(c.job_id.in_(list(counts)), finished_at >= j.started_at)
                    .group_by(c.job_id)
                )
                for job_id, n in this_run:
                    counts[job_id][THIS_RUN] = int(n)
            return [_job(r, counts[r["id"]]) for r in rows]

        return self._read(work)


def _takeable(now: datetime, *, handed_over_only: bool) -> sa.ColumnElement[bool]:
    c = bulk_jobs.c
    stale_before = now - timedelta(seconds=STALE_SECONDS)
    owner_gone = sa.and_(c.status == RUNNING, sa.or_(c.heartbeat_at.is_(None), c.heartbeat_at < stale_before))
    if handed_over_only:
        return sa.or_(sa.and_(c.status == INTERRUPTED, c.note == HANDED_OVER), owner_gone)
    return sa.or_(c.status == INTERRUPTED, owner_gone)


def request_id(job_id: str, position: int) -> str:
    """The audit row of a job's person is named after both: the person's outcome is read from it, and the
    audit log's unique request ids make a second change for the same person impossible."""
    return f"{job_id}-{position}"


def _request_id_column() -> sa.ColumnElement[str]:
    c = bulk_job_items.c
    return c.job_id + sa.literal("-") + sa.cast(c.position, sa.String)


def _with_audit() -> sa.FromClause:
    return bulk_job_items.outerjoin(audit_events, audit_events.c.request_id == _request_id_column())


def _outcome_columns() -> tuple[sa.ColumnElement[str], sa.ColumnElement[str], sa.ColumnElement[datetime]]:
    """A person's state, reason and end: a failure the runner wrote, else the audit row's state, else
    the item's own (pending / not started)."""
    c, a = bulk_job_items.c, audit_events.c
    # A change cut short at a takeover whose answer came after all (the old owner's last request): done.
    late = sa.and_(c.state == FAILED, c.reason == CUT_SHORT, a.state == "ok")
    state = sa.case(
        (late, DONE),
        (c.state == FAILED, FAILED),
        (a.state == "ok", DONE),
        (a.state == "error", FAILED),
        (a.state == "attempted", STARTED),
        else_=c.state,
    )
    reason = sa.case(
        (late, sa.null()), (c.state == FAILED, c.reason), (a.state == "error", a.message), else_=sa.null()
    )
    return state, reason, sa.func.coalesce(c.finished_at, a.completed_at)


def _cut_short(conn: sa.Connection, job_id: str) -> None:
    """People whose change was on its way when the owner stopped (their audit row still "attempted"):
    failed, in words, and never run again."""
    a = audit_events.c
    conn.execute(
        bulk_job_items.update()
        .where(
            bulk_job_items.c.job_id == job_id,
            bulk_job_items.c.state != FAILED,
            sa.exists().where(a.request_id == _request_id_column(), a.state == "attempted"),
        )
        .values(state=FAILED, reason=CUT_SHORT, finished_at=_now())
    )


def _reason(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return (text[0] if text else "the database gave no reason").rstrip(".")[:200]


def _job(row: Any, counts: dict[str, int]) -> Job:
    return Job(
        id=row["id"],
        action=row["action"],
        params=dict(row["params"] or {}),
        created_by_sub=row["created_by_sub"],
        created_by_email=row["created_by_email"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        stored_status=row["status"],
        total=row["total"],
        owner=row["owner"],
        heartbeat_at=row["heartbeat_at"],
        cancel_requested=bool(row["cancel_requested"]),
        counts=counts,
        note=row.get("note"),
    )
