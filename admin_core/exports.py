"""The whole tenant as a file, past the 1,000-result search cap: Auth0's user-export job, run on the server.

An `ExportRun` is a thread of the app's process: it creates the job (`POST /api/v2/jobs/users-exports`),
polls it (`GET /api/v2/jobs/{id}`) for its progress, streams the finished file from the job's `location`
to a temporary file, and rewrites it for the person: CSV rows guarded against spreadsheet formulas
(`admin_core.csvsafe`), still gzip'd. Nothing is held whole in memory: the file moves in chunks between
Auth0, the disk and gzip. The person's page only reads the run's state (so it is never frozen) and hands
out the finished file. The `location` link is a signed URL: a secret, never logged nor audited.

Streamlit-free and SDK-free: the Management API calls and the download are `admin_core.auth0.exports`'s.
"""

from __future__ import annotations

import atexit
import csv
import gzip
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from admin_core import csvsafe
from admin_core.audit import Actor, AuditError, AuditStore
from admin_core.errors import AdminError, AppError

log = logging.getLogger(__name__)
T = TypeVar("T")

FORMATS = ("csv", "json")
KEEP_SECONDS = 30 * 60  # a finished file stays on disk (and downloadable) this long, then it is deleted
MAX_RUNNING = 3  # exports running at once in this process (each is a thread and a temp file)
POLL_MIN_SECONDS = 1.0
POLL_MAX_SECONDS = 5.0
POLL_FAILURES = 5  # consecutive failed polls (429, 5xx, timeouts) before the run gives up
WAIT_MAX_SECONDS = 3 * 3600  # Auth0 keeps a job 24 h; an export still unfinished after 3 h is given up
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportField:
    """One column of the export: the profile path Auth0 reads, and the column's title."""

    name: str
    export_as: str


# The Users table's columns (admin_core.ui.cards.users_frame, without the picture), as Auth0 exports them.
TABLE_FIELDS = (
    ExportField("name", "name"),
    ExportField("email", "email"),
    ExportField("email_verified", "verified"),
    ExportField("identities[0].connection", "connection"),
    ExportField("last_login", "last_login"),
    ExportField("logins_count", "logins"),
    ExportField("created_at", "created"),
    ExportField("blocked", "blocked"),
    ExportField("user_id", "user_id"),
)


@dataclass(frozen=True)
class JobStatus:
    """What Auth0 says of an export job (`GET /api/v2/jobs/{id}`)."""

    job_id: str
    status: str  # pending | processing | completed | failed (Auth0's words)
    percentage_done: int | None = None
    time_left_seconds: int | None = None
    location: str | None = field(default=None, repr=False)  # a signed link: a secret
    details: str | None = None


class LinkExpired(AdminError):
    """The job's download link was refused (expired or no longer valid)."""


class ExportSource(Protocol):
    """The Auth0 side of an export (admin_core.auth0.exports.ExportDesk)."""

    def connection_id(self, name: str) -> str: ...

    def start(
        self, *, fields: tuple[ExportField, ...], format: str, connection_id: str | None
    ) -> JobStatus: ...

    def job(self, job_id: str) -> JobStatus: ...

    def download(self, location: str, out: IO[bytes]) -> int: ...


PHASES = ("starting", "waiting", "downloading", "preparing", "ready", "failed", "cancelled")
DONE_PHASES = ("ready", "failed", "cancelled")
UNEXPECTED = "The export failed unexpectedly in the app; the server log has the details. Try again."


@dataclass
class ExportRun:
    """One export, its progress and its file. Mutated by its thread only; read by pages (plain fields)."""

    run_id: str
    actor: Actor
    format: str
    connection: str | None  # a connection's name, or None for every user of the tenant
    created: float = field(default_factory=time.time)
    phase: str = "starting"
    percent: int = 0
    time_left: int | None = None
    rows: int | None = None
    size: int | None = None  # bytes of the finished file
    error: str | None = None
    finished: float | None = None
    requests: int = 0  # Management API requests (create, polls, connection lookup); the download not counted
    path: Path | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self.phase in DONE_PHASES

    @property
    def what(self) -> str:
        """The export in words: "every user (CSV)", "the users of github (JSON)"."""
        who = f"the users of {self.connection}" if self.connection else "every user"
        return f"{who} ({self.format.upper()})"

    @property
    def file_name(self) -> str:
        stem = f"users-{self.connection}" if self.connection else "users"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
        return f"{safe}.{self.format}.gz"

    def cancel(self) -> None:
        self.cancel_event.set()


def rewrite(source: Path, target: Path, *, format: str) -> int:
    """Auth0's file (gzip, or plain if something on the way decoded it) as the person's gzip file, one line
    at a time; CSV cells are formula-guarded. Returns the rows (not counting the CSV header)."""
    with open(source, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    rows = 0
    with (
        opener(source, "rt", encoding="utf-8", newline="") as inp,
        gzip.open(target, "wt", encoding="utf-8", newline="", compresslevel=6) as out,
    ):
        if format == "csv":
            writer = csv.writer(out, lineterminator="\n")
            for i, row in enumerate(csv.reader(inp)):
                # the header is Auth0's column titles (ours): left as is
                writer.writerow(row if i == 0 else [csvsafe.guard(cell) for cell in row])
                rows += i > 0
        else:
            for line in inp:
                if line.strip():
                    out.write(line if line.endswith("\n") else line + "\n")
                    rows += 1
    return rows


class ExportRegistry:
    """The process's exports: started in threads, their files in one temporary directory, each deleted
    when dismissed, cancelled, failed or KEEP_SECONDS after it finished (and the directory at exit)."""

    def __init__(
        self,
        *,
        source: Callable[[], ExportSource],
        audit: Callable[[], AuditStore],
        directory: Path | None = None,
    ):
        self._source = source
        self._audit = audit
        self._lock = threading.Lock()
        self._runs: dict[str, ExportRun] = {}
        self._threads: dict[str, threading.Thread] = {}
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="auth0-admin-exports-"))  # mode 0700
            atexit.register(shutil.rmtree, directory, True)
        self.directory = directory

    # --- reading ---------------------------------------------------------------------------------

    def get(self, run_id: str | None) -> ExportRun | None:
        self.prune()
        with self._lock:
            return self._runs.get(run_id) if run_id else None

    def latest_for(self, actor_sub: str) -> ExportRun | None:
        """The person's newest export still kept (a new tab finds its running or finished export)."""
        self.prune()
        with self._lock:
            mine = [r for r in self._runs.values() if r.actor.sub == actor_sub]
        return max(mine, key=lambda r: r.created) if mine else None

    def read(self, run_id: str) -> bytes:
        """The finished file's bytes, for the person's download (read when they click)."""
        run = self.get(run_id)
        if run is None or run.phase != "ready" or run.path is None or not run.path.exists():
            return b""
        return run.path.read_bytes()

    # --- changing --------------------------------------------------------------------------------

    def start(self, *, actor: Actor, format: str, connection: str | None = None) -> ExportRun:
        """A new export in its own thread; its audit row is written first (no row, no export).

        One running export per person (asking again gives the running one), MAX_RUNNING per process."""
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        self.prune()
        with self._lock:
            running = [r for r in self._runs.values() if not r.done]
            mine = [r for r in running if r.actor.sub == actor.sub]
            if mine:
                return mine[0]
            if len(running) >= MAX_RUNNING:
                raise ExportRefused(
                    f"{len(running)} exports are running on this server already. Try again in a few minutes."
                )
            run = ExportRun(run_id=uuid.uuid4().hex, actor=actor, format=format, connection=connection)
            self._runs[run.run_id] = run
        try:
            # Both resolved here, in the page's thread: the run's thread has no Streamlit script context.
            audit, source = self._audit(), self._source()
            request_id = audit.begin(actor=actor, action="export_users", target=None)
        except AuditError as exc:
            self._forget(run)
            raise ExportRefused(f"Not started: the audit log could not be written ({exc.message}).") from None
        except BaseException:
            self._forget(run)
            raise
        thread = threading.Thread(
            target=self._run,
            args=(run, source, audit, request_id),
            name=f"export-{run.run_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self._threads[run.run_id] = thread
        thread.start()
        return run

    def _forget(self, run: ExportRun) -> None:
        with self._lock:
            self._runs.pop(run.run_id, None)

    def dismiss(self, run_id: str) -> None:
        """The person is done with it: cancel it if it runs, delete its file."""
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is not None:
            run.cancel()
            self._delete(run)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            old = [
                r for r in self._runs.values() if r.finished is not None and now - r.finished > KEEP_SECONDS
            ]
            for run in old:
                del self._runs[run.run_id]
                self._threads.pop(run.run_id, None)
        for run in old:
            self._delete(run)

    def wait(self, run_id: str, timeout: float) -> bool:
        """Block until the run's thread ends (tests and the bench); True when it did."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # --- the run itself (its own thread) ---------------------------------------------------------

    def _run(self, run: ExportRun, source: ExportSource, audit: AuditStore, request_id: str) -> None:
        try:
            self._export(run, source)
        except Cancelled:
            run.phase, run.error = "cancelled", None
        except AppError as exc:
            run.phase, run.error = "failed", exc.message
        except Exception:
            log.exception("export %s failed unexpectedly", run.run_id)
            run.phase, run.error = "failed", UNEXPECTED
        finally:
            run.finished = time.time()
            if run.phase != "ready":
                self._delete(run)
            self._record(run, audit, request_id)

    def _export(self, run: ExportRun, source: ExportSource) -> None:
        connection_id = None
        if run.connection:
            connection_id = self._counted(run, lambda: source.connection_id(run.connection or ""))
        job = self._counted(
            run, lambda: source.start(fields=TABLE_FIELDS, format=run.format, connection_id=connection_id)
        )
        run.phase = "waiting"
        job = self._until_done(run, source, job)
        run.phase, run.percent, run.time_left = "downloading", 100, None
        raw = self.directory / f"{run.run_id}.download"
        try:
            self._download(run, source, job, raw)
            self._check_cancel(run)
            run.phase = "preparing"
            target = self.directory / f"{run.run_id}.{run.format}.gz"
            run.path = target
            run.rows = rewrite(raw, target, format=run.format)
            run.size = target.stat().st_size
        finally:
            raw.unlink(missing_ok=True)
        self._check_cancel(run)
        run.phase = "ready"

    def _until_done(self, run: ExportRun, source: ExportSource, job: JobStatus) -> JobStatus:
        deadline = time.monotonic() + WAIT_MAX_SECONDS
        failures = 0
        while job.status != "completed":
            if job.status == "failed":
                reason = f" (Auth0 said: {job.details.rstrip('.')})" if job.details else ""
                raise ExportFailed(f"Auth0 could not finish the export{reason}. Try again in a while.")
            if time.monotonic() > deadline:
                raise ExportFailed("Auth0 had not finished the export after 3 hours. Try again later.")
            if job.percentage_done is not None:
                run.percent = max(0, min(99, job.percentage_done))
            run.time_left = job.time_left_seconds
            wait = POLL_MIN_SECONDS
            if job.time_left_seconds:
                wait = min(POLL_MAX_SECONDS, max(POLL_MIN_SECONDS, job.time_left_seconds / 3))
            self._pause(run, min(POLL_MAX_SECONDS, wait * 2**failures))
            try:
                job = self._counted(run, source.job, job.job_id)
                failures = 0
            except AdminError as exc:
                # a 429 or a 5xx while polling: the job runs on at Auth0, so ask again a little later
                failures += 1
                if failures >= POLL_FAILURES:
                    raise ExportFailed(f"Auth0 stopped answering about the export. {exc.message}") from None
        return job

    def _download(self, run: ExportRun, source: ExportSource, job: JobStatus, raw: Path) -> None:
        """The file at the job's link; a refused (expired) link is asked for afresh once."""
        for attempt in (1, 2):
            if not job.location:
                raise ExportFailed("Auth0 finished the export without a link to its file. Try again.")
            try:
                with open(raw, "wb") as out:
                    source.download(job.location, out)
                return
            except LinkExpired:
                if attempt == 2:
                    raise ExportFailed(
                        "Auth0's link to the export file expired before it could be fetched. Try again."
                    ) from None
                job = self._counted(run, source.job, job.job_id)  # a fresh link

    @staticmethod
    def _counted(run: ExportRun, call: Callable[..., T], *args: Any) -> T:
        run.requests += 1
        return call(*args)

    @staticmethod
    def _pause(run: ExportRun, seconds: float) -> None:
        if run.cancel_event.wait(seconds):
            raise Cancelled()

    @staticmethod
    def _check_cancel(run: ExportRun) -> None:
        if run.cancel_event.is_set():
            raise Cancelled()

    def _delete(self, run: ExportRun) -> None:
        for path in (run.path, self.directory / f"{run.run_id}.download"):
            if path is not None:
                path.unlink(missing_ok=True)
        run.path = None

    def _record(self, run: ExportRun, audit: AuditStore, request_id: str) -> None:
        """The audit row's outcome: who exported what, and how many; never the link."""
        if run.phase == "ready":
            message = f"Exported {run.what}: {run.rows:,} users."
        elif run.phase == "cancelled":
            message = f"Export of {run.what} cancelled."
        else:
            message = f"Export of {run.what} failed: {run.error}"
        try:
            audit.complete(request_id, ok=run.phase == "ready", message=message)
        except AuditError as exc:
            log.error("audit row %s of an export could not be completed: %s", request_id, exc.message)


class ExportRefused(AdminError):
    """The export was not started (too many running, the audit log not writable)."""


class ExportFailed(AdminError):
    """Auth0's job failed, or its file could not be fetched."""


class Cancelled(Exception):
    """The person cancelled the export."""
