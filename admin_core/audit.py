"""Audit store: who did what to which Auth0 account, when, and with what outcome.

Every Management API call goes out under the app's single client credentials, so Auth0's own
logs cannot say which team member deleted or blocked whom. This module keeps that record in a
SQL database through SQLAlchemy Core: a SQLite file by default, PostgreSQL for deployments where
several app instances share one log.

Usage pattern for destructive actions: ``begin()`` writes an ``attempted`` row *before* the call
(so a crash in between still leaves a trace), ``complete()`` records the outcome. ``attempt()``
wraps both as a context manager. If ``begin()`` raises :class:`AuditError` the caller must not make
the change.

The store is thread-safe (one engine with a connection pool) and several processes may share
one database. It has no Streamlit imports; the app caches one instance itself.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from admin_core import csvsafe
from admin_core.errors import AppError
from admin_core.settings import default_sqlite_url

log = logging.getLogger(__name__)

__all__ = [
    "ACTIONS",
    "SCHEMA_VERSION",
    "STATES",
    "Actor",
    "AuditError",
    "AuditEvent",
    "AuditPage",
    "AuditRequestError",
    "AuditStore",
    "Target",
    "default_sqlite_url",
]

#: Every action the tool records, in the order the audit page offers them as filters.
ACTIONS: tuple[str, ...] = (
    "delete",
    "bulk_delete",
    "block",
    "unblock",
    # the support desk's fixes (admin_core.actions), one person each
    "unlock",
    "password_reset_email",
    "password_reset_link",
    "verification_email",
    "mark_verified",
    "reset_mfa",
    "forget_browsers",
    "sign_out_everywhere",
    "sign_in",
    "sign_in_refused",
    "logout",
    # undo a delete (admin_core.deleted): the re-creation of a kept profile, and a purge of kept ones
    "recreate",
    "purge_deleted",
    # new users and invitations (admin_core.invitations)
    "create_user",
    "invite_user",
    "bulk_invite",
    # roles (admin_core.actions): one row per person and change
    "role_add",
    "role_remove",
    "bulk_role_add",
    "bulk_role_remove",
    # issue 16: metadata and profile edits (admin_core.actions.save_metadata / save_profile)
    "edit_metadata",
    "edit_profile",
    # issue 19: a whole-tenant export through Auth0's export job (admin_core.exports); no target person
    "export_users",
)
#: Row states: ``attempted`` until ``complete()`` turns it into ``ok`` or ``error``.
STATES: tuple[str, ...] = ("attempted", "ok", "error")
#: Version written to ``audit_schema``; bump it (and add a migration) when the tables change.
SCHEMA_VERSION = 1

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 5
MAX_MESSAGE_CHARS = 4000
MAX_PER_PAGE = 1000
_REQUEST_ID_MAX = 64
# Arbitrary constant key for pg_advisory_xact_lock, so racing processes create the schema in turn.
_PG_SCHEMA_LOCK_KEY = 0x6175_6469_7431  # "audit1"

_T = TypeVar("_T")

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "request_id",
    "occurred_at",
    "completed_at",
    "actor_sub",
    "actor_email",
    "action",
    "target_user_id",
    "target_email",
    "target_name",
    "state",
    "message",
)


# --------------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------------


class AuditError(AppError):
    """The audit log could not be written or read; ``.message`` says why in plain words."""


class AuditRequestError(AuditError):
    """A request id was unknown, already completed, or already used."""


@dataclass(frozen=True)
class Actor:
    """The signed-in team member doing something."""

    sub: str
    email: str | None = None


@dataclass(frozen=True)
class Target:
    """The Auth0 account an action is aimed at."""

    user_id: str
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit log."""

    id: int
    request_id: str
    occurred_at: datetime
    completed_at: datetime | None
    actor_sub: str
    actor_email: str | None
    action: str
    target_user_id: str | None
    target_email: str | None
    target_name: str | None
    state: str
    message: str | None

    @property
    def actor(self) -> Actor:
        """The actor as an :class:`Actor`."""
        return Actor(sub=self.actor_sub, email=self.actor_email)

    @property
    def target(self) -> Target | None:
        """The target as a :class:`Target`, or None for events without one."""
        if self.target_user_id is None:
            return None
        return Target(user_id=self.target_user_id, email=self.target_email, name=self.target_name)


@dataclass(frozen=True)
class AuditPage:
    """One page of query results, newest first, with the total number of matches."""

    events: list[AuditEvent] = field(default_factory=list)
    total: int = 0
    page: int = 0
    per_page: int = 50

    @property
    def pages(self) -> int:
        """Number of pages needed for ``total`` matches (at least 1)."""
        return max(1, -(-self.total // self.per_page))


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


def database_clock(conn: sa.Connection) -> datetime | None:
    """The database's own clock on PostgreSQL, where several instances share the database and must read one
    clock for what expires (claims, job heartbeats); None on SQLite (one process: its own clock serves)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one().astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them as naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Normalise to UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's fixed-width text format then compares correctly as a string.
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(_REQUEST_ID_MAX), nullable=False, unique=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.Column("actor_sub", sa.String, nullable=False),
    sa.Column("actor_email", sa.String, nullable=True, index=True),
    sa.Column("action", sa.String(32), nullable=False, index=True),
    sa.Column("target_user_id", sa.String, nullable=True),
    sa.Column("target_email", sa.String, nullable=True),
    sa.Column("target_name", sa.String, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.CheckConstraint("state IN ('attempted', 'ok', 'error')", name="ck_audit_events_state"),
    # SQLite: never reuse the ids of deleted rows.
    sqlite_autoincrement=True,
)

# Profiles kept before a delete (admin_core.deleted), for DELETED_PROFILE_DAYS; personal data, so the
# purge deletes the rows for good. `profile` is the JSON Auth0 returned, without identity-provider tokens.
deleted_profiles = sa.Table(
    "deleted_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String, nullable=False, index=True),
    sa.Column("email", sa.String, nullable=True),
    sa.Column("name", sa.String, nullable=True),
    sa.Column("connection", sa.String, nullable=True),
    sa.Column("deleted_at", UTCDateTime, nullable=False, index=True),
    sa.Column("deleted_by", sa.String, nullable=False),
    sa.Column("request_id", sa.String(_REQUEST_ID_MAX), nullable=True),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("recreated_user_id", sa.String, nullable=True),
    sa.Column("recreated_at", UTCDateTime, nullable=True),
    sqlite_autoincrement=True,
)

# One row per person being changed right now, across every app instance sharing this database
# (admin_core.claims): the primary key makes a second claim on the same person fail. A claim ends with its
# change, or at `expires_at` when the instance holding it died; a finished delete stays until then, so a
# second admin is told who deleted the person instead of sending Auth0 a second DELETE.
change_claims = sa.Table(
    "change_claims",
    metadata,
    sa.Column("subject", sa.String, primary_key=True),
    sa.Column("request_id", sa.String(_REQUEST_ID_MAX), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("done", sa.Boolean, nullable=False, default=False),
)

audit_schema = sa.Table(
    "audit_schema",
    metadata,
    # Single-row table: the constant primary key makes a second row impossible.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_audit_schema_single_row"),
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _short_reason(error: BaseException) -> str:
    """First line of the driver's error, without SQLAlchemy's SQL and parameter dump."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip() or "the database gave no reason"
    line = text.splitlines()[0].strip()
    if len(line) > 200:
        line = line[:197] + "..."
    return line.rstrip(".")


def _is_unreachable(error: BaseException) -> bool:
    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError | OSError)


def _audit_error(error: BaseException, doing: str, after: str = "") -> AuditError:
    """Plain-words AuditError: 'Could not <doing> (database unreachable): <reason>. <after>'."""
    kind = "database unreachable" if _is_unreachable(error) else "database error"
    message = f"Could not {doing} ({kind}): {_short_reason(error)}."
    return AuditError(f"{message} {after}" if after else message)


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; expected one of {', '.join(ACTIONS)}.")


def _check_request_id(request_id: str) -> None:
    if not isinstance(request_id, str) or not request_id or len(request_id) > _REQUEST_ID_MAX:
        raise ValueError(f"request_id must be a non-empty string of at most {_REQUEST_ID_MAX} characters.")


def _clip(message: str | None) -> str | None:
    if message is None:
        return None
    message = str(message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    return message


def _exception_message(error: BaseException) -> str:
    """Plain message of an exception: its ``.message`` if it has one, else ``str(error)``."""
    message = getattr(error, "message", None)
    if message is None or not str(message).strip():
        message = str(error)
    return str(message).strip() or "an error without a message (the server log has the details)"


def _csv_cell(value: Any, formula_guard: bool) -> str:
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # Spreadsheets would run "=..." cells as formulas; names and messages come from outside.
    return csvsafe.guard(text) if formula_guard else text


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


class AuditStore:
    """Audit log on one SQLAlchemy database URL; safe to share between threads and processes."""

    def __init__(self, url: str | URL) -> None:
        """Prepare the engine; nothing touches the database until first use."""
        try:
            self._url = make_url(url)
        except (exc.ArgumentError, ValueError, TypeError) as error:
            # The URL may hold a password: do not echo it back.
            raise AuditError("The audit database URL is not a valid SQLAlchemy URL.") from error
        self._sqlite_path: str | None = None
        self._lock = threading.Lock()
        # In-memory SQLite has one shared connection, so its users must take turns.
        self._memory_lock: contextlib.AbstractContextManager[bool] | None = None
        self._sqlite_write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Write] = []
        self._ready = False
        try:
            self._engine = self._create_engine(self._url)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
            raise AuditError(f"The audit database URL cannot be used: {_short_reason(error)}.") from error

    # ---- engine -------------------------------------------------------------------------

    def _create_engine(self, url: URL) -> Engine:
        backend = url.get_backend_name()
        if backend == "sqlite":
            database = url.database or ""
            memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
            if memory:
                # One shared in-memory database for all threads (tests and demos only).
                self._memory_lock = threading.RLock()
                engine = sa.create_engine(
                    url, poolclass=StaticPool, connect_args={"check_same_thread": False}
                )
            else:
                self._sqlite_path = os.path.abspath(database)
                engine = sa.create_engine(
                    url,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                    pool_pre_ping=False,
                )
            event.listen(engine, "connect", _sqlite_on_connect)
            return engine
        connect_args: dict[str, Any] = {}
        if backend == "postgresql" and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)

    def _turn(self) -> contextlib.AbstractContextManager[Any]:
        """Serialise database use when all threads share one in-memory connection."""
        return self._memory_lock if self._memory_lock is not None else contextlib.nullcontext()

    def _execute_write(self, statement: sa.Executable) -> int:
        """Run one write, committed before this returns; its rowcount. On a SQLite file, the writes that
        queued while another commit was on disk are committed together (a group commit: one fsync for
        all of them, as PostgreSQL does), each statement still atomic on its own (SQLite undoes only the
        failing statement), each caller getting its own result or error."""
        if self._sqlite_path is None:
            with self._turn(), self._engine.begin() as conn:
                return int(conn.execute(statement).rowcount or 0)
        slot = _Write(statement)
        with self._queue_lock:
            self._queue.append(slot)
        with self._sqlite_write_lock:
            if not slot.done:  # no one committed it while this thread waited: commit the queue
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    with self._engine.begin() as conn:
                        for each in batch:
                            try:
                                each.rowcount = int(conn.execute(each.statement).rowcount or 0)
                            except exc.IntegrityError as error:  # this statement only
                                each.error = error
                except exc.SQLAlchemyError as error:  # the commit: none of the batch is written
                    for each in batch:
                        each.error = each.error or error
                for each in batch:
                    each.done = True
        if slot.error is not None:
            raise slot.error
        return slot.rowcount

    def writing(self) -> contextlib.AbstractContextManager[Any]:
        """Hold while writing: this process's writers to a SQLite file take turns here, not in SQLite's
        busy handler (which sleeps up to 100 ms a try: a bulk job's pool of writers would crawl)."""
        if self._sqlite_path is not None:
            return self._sqlite_write_lock
        return self._turn()

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self._url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The underlying SQLAlchemy engine."""
        return self._engine

    def __repr__(self) -> str:
        return f"AuditStore({self.url!r})"

    def close(self) -> None:
        """Close all pooled connections (the store reconnects on next use)."""
        self._engine.dispose()

    # ---- schema -------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the tables and the schema-version row if missing (idempotent, race-safe)."""
        self._prepare("open the audit log")

    def _prepare(self, doing: str, after: str = "") -> None:
        """Create the schema on first use; failures become an AuditError about ``doing``."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                if self._sqlite_path is not None:
                    os.makedirs(os.path.dirname(self._sqlite_path), exist_ok=True)
                self._create_schema_with_retry()
            except (exc.SQLAlchemyError, OSError) as error:
                raise _audit_error(error, doing, after) from error
            self._ready = True

    def _create_schema_with_retry(self, attempts: int = 5) -> None:
        for attempt in range(attempts):
            try:
                self._create_schema()
                return
            except (exc.IntegrityError, exc.ProgrammingError, exc.OperationalError) as error:
                # Another process created the same table or row between our check and our write.
                if attempt == attempts - 1 or not _looks_like_creation_race(error):
                    raise

    def _create_schema(self) -> None:
        with self._turn(), self._engine.connect() as conn:
            dialect = conn.dialect.name
            if dialect == "sqlite":
                # Serialise schema creation between processes: take the write lock up front.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif dialect == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK_KEY)))
            metadata.create_all(conn, checkfirst=True)
            version = conn.execute(sa.select(audit_schema.c.version)).scalar_one_or_none()
            if version is None:
                conn.execute(audit_schema.insert().values(id=1, version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                conn.rollback()
                raise AuditError(
                    f"The audit database uses schema version {version}, newer than this app "
                    f"understands ({SCHEMA_VERSION}). Upgrade the app before using this database."
                )
            conn.commit()

    def schema_version(self) -> int | None:
        """Schema version recorded in the database (None if the row is missing)."""
        return self._read(lambda conn: conn.execute(sa.select(audit_schema.c.version)).scalar_one_or_none())

    # ---- writing ------------------------------------------------------------------------

    def begin(
        self, *, actor: Actor, action: str, target: Target | None, request_id: str | None = None
    ) -> str:
        """Record an ``attempted`` action before making it; returns its request id."""
        _check_action(action)
        request_id = uuid.uuid4().hex if request_id is None else request_id
        _check_request_id(request_id)
        values = _row_values(actor, action, target, request_id)
        values.update(occurred_at=_now(), completed_at=None, state="attempted", message=None)
        self._insert(values, after="The change was not made.")
        return request_id

    def complete(self, request_id: str, *, ok: bool, message: str | None = None) -> None:
        """Record the outcome of a begun action (``ok`` or ``error``) with an optional message."""
        _check_request_id(request_id)
        doing = "record the outcome in the audit log"
        after = f"The change may have been made; its entry {request_id} stays 'attempted'."
        self._prepare(doing, after)
        statement = (
            audit_events.update()
            .where(audit_events.c.request_id == request_id, audit_events.c.state == "attempted")
            .values(state="ok" if ok else "error", completed_at=_now(), message=_clip(message))
        )
        try:
            # One statement, so SQLite takes its write lock at once (waiting on busy_timeout).
            updated = self._execute_write(statement)
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing, after) from error
        if updated == 1:
            return
        existing = self.get(request_id)
        if existing is None:
            raise AuditRequestError(
                f"No audit entry has request id {request_id}; nothing was recorded for it."
            )
        when = f" at {existing.completed_at.isoformat()}" if existing.completed_at else ""
        raise AuditRequestError(f"Audit entry {request_id} was already completed ({existing.state}{when}).")

    def record(
        self,
        *,
        actor: Actor,
        action: str,
        target: Target | None = None,
        ok: bool = True,
        message: str | None = None,
        occurred_at: datetime | None = None,
    ) -> str:
        """Record a one-shot, already finished event (sign-in, refusal, logout); returns its id.

        `occurred_at` (timezone-aware) records an event that happened earlier, e.g. one imported from
        another log; by default the event happens now."""
        _check_action(action)
        if occurred_at is not None and occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        request_id = uuid.uuid4().hex
        now = occurred_at.astimezone(UTC) if occurred_at is not None else _now()
        values = _row_values(actor, action, target, request_id)
        values.update(
            occurred_at=now, completed_at=now, state="ok" if ok else "error", message=_clip(message)
        )
        self._insert(values, after="The event was not recorded.")
        return request_id

    @contextlib.contextmanager
    def attempt(self, *, actor: Actor, action: str, target: Target | None) -> Iterator[str]:
        """Begin, yield the request id, then complete ok, or error (and re-raise) on exception."""
        request_id = self.begin(actor=actor, action=action, target=target)
        try:
            yield request_id
        except BaseException as error:
            log.warning("audited %s (entry %s) failed: %r", action, request_id, error)
            try:
                self.complete(request_id, ok=False, message=_exception_message(error))
            except AuditError as audit_error:
                # Keep the original exception; note the logging failure on it.
                error.add_note(audit_error.message)
            raise
        self.complete(request_id, ok=True)

    def _insert(self, values: dict[str, Any], *, after: str) -> None:
        doing = "write the audit log"
        self._prepare(doing, after)
        try:
            self._execute_write(audit_events.insert().values(**values))
        except exc.IntegrityError as error:
            raise AuditRequestError(
                f"Request id {values['request_id']} is already in the audit log. {after}"
            ) from error
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing, after) from error

    @contextlib.contextmanager
    def transaction(self, doing: str, after: str = "") -> Iterator[Connection]:
        """One transaction on the audit database for a neighbouring module (admin_core.claims); database
        failures become an AuditError saying what could not be done ("Could not <doing> ...")."""
        self._prepare(doing, after)
        try:
            with self._turn(), self._engine.begin() as conn:
                yield conn
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing, after) from error

    # ---- reading ------------------------------------------------------------------------

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        doing = "read the audit log"
        self._prepare(doing)
        try:
            with self._turn(), self._engine.connect() as conn:
                return work(conn)
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing) from error

    def get(self, request_id: str) -> AuditEvent | None:
        """The event with this request id, or None."""
        statement = sa.select(audit_events).where(audit_events.c.request_id == request_id)
        row = self._read(lambda conn: conn.execute(statement).mappings().one_or_none())
        return None if row is None else _event(row)

    def query(
        self,
        *,
        actor: str | None = None,
        exact_actor: bool = False,
        action: str | None = None,
        target_text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 0,
        per_page: int = 50,
    ) -> AuditPage:
        """One page of matching events, newest first, with the total number of matches."""
        if page < 0:
            raise ValueError("page must be 0 or more.")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}.")
        conditions = _filters(
            actor=actor,
            exact_actor=exact_actor,
            action=action,
            target_text=target_text,
            since=since,
            until=until,
        )
        count_statement = sa.select(sa.func.count()).select_from(audit_events).where(*conditions)
        rows_statement = (
            sa.select(audit_events)
            .where(*conditions)
            .order_by(audit_events.c.occurred_at.desc(), audit_events.c.id.desc())
            .limit(per_page)
            .offset(page * per_page)
        )

        def work(conn: Connection) -> AuditPage:
            total = conn.execute(count_statement).scalar_one()
            events = [_event(row) for row in conn.execute(rows_statement).mappings()]
            return AuditPage(events=events, total=total, page=page, per_page=per_page)

        return self._read(work)

    def export_csv(
        self,
        *,
        actor: str | None = None,
        exact_actor: bool = False,
        action: str | None = None,
        target_text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        formula_guard: bool = True,
    ) -> str:
        """All matching events as CSV text (header line, newest first).

        With ``formula_guard`` (the default) cells starting with ``= + - @``, a tab or a carriage return
        get a leading apostrophe (``admin_core.csvsafe``, shared with the Users export) so spreadsheets
        show them as text instead of running them as formulas.
        """
        conditions = _filters(
            actor=actor,
            exact_actor=exact_actor,
            action=action,
            target_text=target_text,
            since=since,
            until=until,
        )
        statement = (
            sa.select(*(audit_events.c[name] for name in CSV_COLUMNS))
            .where(*conditions)
            .order_by(audit_events.c.occurred_at.desc(), audit_events.c.id.desc())
        )
        rows = self._read(lambda conn: conn.execute(statement).all())
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_csv_cell(value, formula_guard) for value in row])
        return buffer.getvalue()

    # ---- deleted profiles (admin_core.deleted) ---------------------------------------------------

    def keep_deleted(
        self,
        *,
        user_id: str,
        email: str | None,
        name: str | None,
        connection: str | None,
        deleted_by: str,
        profile: dict[str, Any],
        roles: list[dict[str, Any]],
        request_id: str | None = None,
    ) -> int:
        """Keep a profile before its delete; returns the row's id (see admin_core.deleted.keep)."""
        values = {
            "user_id": user_id,
            "email": email,
            "name": name,
            "connection": connection,
            "deleted_at": _now(),
            "deleted_by": deleted_by,
            "request_id": request_id,
            "profile": profile,
            "roles": roles,
        }
        doing = "keep the deleted profile"
        after = "The person was not deleted."
        self._prepare(doing, after)
        try:
            with self.writing(), self._engine.begin() as conn:
                key = conn.execute(deleted_profiles.insert().values(**values)).inserted_primary_key
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing, after) from error
        if not key:
            raise AuditError(f"Could not {doing}: the database gave no row id. {after}")
        return int(key[0])

    def forget_kept(self, kept_id: int) -> None:
        """Remove one kept profile (its delete did not happen after all)."""
        statement = deleted_profiles.delete().where(deleted_profiles.c.id == kept_id)
        doing = "remove the kept profile"
        self._prepare(doing)
        try:
            with self.writing(), self._engine.begin() as conn:
                conn.execute(statement)
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing) from error

    def deleted_profiles(self, *, limit: int = MAX_PER_PAGE) -> list[dict[str, Any]]:
        """Kept profiles, newest delete first, each a dict of the table's columns."""
        statement = (
            sa.select(deleted_profiles)
            .order_by(deleted_profiles.c.deleted_at.desc(), deleted_profiles.c.id.desc())
            .limit(limit)
        )
        return self._read(lambda conn: [dict(row) for row in conn.execute(statement).mappings()])

    def deleted_profile(self, kept_id: int) -> dict[str, Any] | None:
        statement = sa.select(deleted_profiles).where(deleted_profiles.c.id == kept_id)
        row = self._read(lambda conn: conn.execute(statement).mappings().one_or_none())
        return None if row is None else dict(row)

    def mark_recreated(self, kept_id: int, *, new_user_id: str) -> None:
        """Record the user_id of the re-created person next to the old one."""
        statement = (
            deleted_profiles.update()
            .where(deleted_profiles.c.id == kept_id)
            .values(recreated_user_id=new_user_id, recreated_at=_now())
        )
        doing = "record the re-created user"
        self._prepare(doing)
        try:
            with self.writing(), self._engine.begin() as conn:
                conn.execute(statement)
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing) from error

    def purge_deleted(self, *, older_than: datetime | None) -> int:
        """Delete, for good, kept profiles deleted before ``older_than`` (None: every one); returns how many."""
        statement = deleted_profiles.delete()
        if older_than is not None:
            statement = statement.where(deleted_profiles.c.deleted_at < older_than)
        doing = "purge the kept profiles"
        self._prepare(doing)
        try:
            with self.writing(), self._engine.begin() as conn:
                return int(conn.execute(statement).rowcount or 0)
        except exc.SQLAlchemyError as error:
            raise _audit_error(error, doing) from error

    def distinct_actors(self) -> list[str]:
        """Every actor seen (email, or sub when there is no email), sorted case-insensitively."""
        who = sa.func.coalesce(audit_events.c.actor_email, audit_events.c.actor_sub)
        statement = sa.select(who).distinct()
        values = self._read(lambda conn: conn.execute(statement).scalars().all())
        return sorted((v for v in values if v), key=lambda v: (v.lower(), v))


@dataclass
class _Write:
    """One write waiting for the next group commit (AuditStore._execute_write)."""

    statement: Any
    done: bool = False
    rowcount: int = 0
    error: BaseException | None = None


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first, so switching to WAL waits for other writers instead of failing.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        # WAL is kept in the file: only the first connection to a new file switches it. That switch can
        # answer "database is locked" at once, without the busy handler, while another process is making
        # the same switch (seen with four processes creating one file): try again, a bounded number of times.
        for attempt in range(50):
            try:
                if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error).lower() or attempt == 49:
                    raise
                time.sleep(0.1)
    finally:
        cursor.close()


def _looks_like_creation_race(error: exc.DBAPIError) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return any(
        marker in text
        for marker in ("already exists", "duplicate key", "unique constraint", "database is locked")
    )


def _row_values(actor: Actor, action: str, target: Target | None, request_id: str) -> dict[str, Any]:
    if not isinstance(actor, Actor):
        raise TypeError("actor must be an Actor.")
    if target is not None and not isinstance(target, Target):
        raise TypeError("target must be a Target or None.")
    return {
        "request_id": request_id,
        "actor_sub": actor.sub,
        "actor_email": actor.email,
        "action": action,
        "target_user_id": None if target is None else target.user_id,
        "target_email": None if target is None else target.email,
        "target_name": None if target is None else target.name,
    }


def _filters(
    *,
    actor: str | None,
    exact_actor: bool = False,
    action: str | None,
    target_text: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[sa.ColumnElement[bool]]:
    c = audit_events.c
    conditions: list[sa.ColumnElement[bool]] = []
    actor = (actor or "").strip()
    if actor and exact_actor:  # a choice from distinct_actors(): that person only, never a@x.com for ba@x.com
        conditions.append(
            sa.or_(c.actor_email == actor, sa.and_(c.actor_email.is_(None), c.actor_sub == actor))
        )
    elif actor:
        conditions.append(
            sa.or_(
                c.actor_email.icontains(actor, autoescape=True), c.actor_sub.icontains(actor, autoescape=True)
            )
        )
    if action:
        _check_action(action)
        conditions.append(c.action == action)
    target_text = (target_text or "").strip()
    if target_text:
        conditions.append(
            sa.or_(
                c.target_email.icontains(target_text, autoescape=True),
                c.target_name.icontains(target_text, autoescape=True),
                c.target_user_id.icontains(target_text, autoescape=True),
            )
        )
    if since is not None:
        conditions.append(c.occurred_at >= since)
    if until is not None:
        conditions.append(c.occurred_at <= until)
    return conditions


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        request_id=row["request_id"],
        occurred_at=row["occurred_at"],
        completed_at=row["completed_at"],
        actor_sub=row["actor_sub"],
        actor_email=row["actor_email"],
        action=row["action"],
        target_user_id=row["target_user_id"],
        target_email=row["target_email"],
        target_name=row["target_name"],
        state=row["state"],
        message=row["message"],
    )
