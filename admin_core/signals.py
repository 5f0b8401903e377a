"""Changes made on one app instance, announced to the others through the audit database.

Each instance caches listings and people's pages for 30 s. After a change, the instance that made it
clears its own caches; the others learn of it through PostgreSQL's LISTEN/NOTIFY on the audit database:
`publish` sends a NOTIFY right after the change's outcome row, and every instance keeps one listener thread
with its own connection (reconnecting with a bounded backoff) that hands each announcement to a callback.
A reconnect may have missed announcements, so it is reported as "everything changed".

With SQLite the app is one process: publishing and listening do nothing. Streamlit-free.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from admin_core.audit import AuditStore

log = logging.getLogger(__name__)

CHANNEL = "admin_core_changes"
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
POLL_SECONDS = 1.0  # how often the listener looks up from its wait to see whether it should stop
MAX_PAYLOAD = 7000  # NOTIFY payloads must stay under 8000 bytes


@dataclass(frozen=True)
class Change:
    """What changed: one person (`user_id`; `deleted` when they are gone), or, with no user_id, the
    listings (a new user) or everything (a listener that reconnected and may have missed something)."""

    user_id: str | None = None
    deleted: bool = False
    everything: bool = False
    job_id: str | None = None  # a bulk job handed over at a shutdown: for another instance to take over


EVERYTHING = Change(everything=True)


class Signals:
    """Publish and subscribe to changes over one audit store; a no-op unless it is PostgreSQL."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self.origin = uuid.uuid4().hex  # this process: its own announcements are not handed back to it
        self.enabled = store.engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._callbacks: list[Callable[[Change], None]] = []
        self.connected = threading.Event()  # set while the listener holds a LISTENing connection

    def publish(self, change: Change) -> None:
        """Tell the other instances (never raises: a change already made must not look failed)."""
        if not self.enabled:
            return
        fields = {"o": self.origin, "u": change.user_id, "d": change.deleted, "e": change.everything}
        if change.job_id:
            fields["j"] = change.job_id
        payload = json.dumps(fields)
        if len(payload) > MAX_PAYLOAD:
            payload = json.dumps({"o": self.origin, "e": True})
        try:
            with self._store.engine.begin() as conn:
                conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
        except exc.SQLAlchemyError as error:
            log.warning("could not tell the other instances about a change: %s", str(error).splitlines()[0])

    def subscribe(self, callback: Callable[[Change], None]) -> None:
        """Start the listener thread (once); `callback` (and any subscribed later) runs in it for each
        other instance's change."""
        if not self.enabled:
            return
        self._callbacks.append(callback)
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._listen, args=(self._deliver_all,), name="admin-core-signals", daemon=True
        )
        self._thread.start()

    def _deliver_all(self, change: Change) -> None:
        for callback in list(self._callbacks):
            _deliver(callback, change)

    def close(self, *, wait: bool = True) -> None:
        """Stop the listener: it ends within POLL_SECONDS (`wait`: until it has)."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(POLL_SECONDS * 3)

    # --- the listener -------------------------------------------------------------------------------

    def _connect(self) -> Any:
        import psycopg  # the PostgreSQL driver the audit URL already names (postgresql+psycopg)

        engine = self._store.engine
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        conn = psycopg.connect(*args, **{**kwargs, "autocommit": True})
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _listen(self, callback: Callable[[Change], None]) -> None:
        backoff = BACKOFF_FIRST_SECONDS
        first = True
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except Exception as error:  # the database is down or refusing: try again, less and less often
                log.warning("change listener cannot connect (retry in %.1f s): %s", backoff, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            backoff = BACKOFF_FIRST_SECONDS
            self.connected.set()
            if not first:
                _deliver(callback, EVERYTHING)  # what was announced while we were away is unknown
            first = False
            try:
                while not self._stop.is_set():
                    for notify in conn.notifies(timeout=POLL_SECONDS):
                        change = self._parse(notify.payload)
                        if change is not None:
                            _deliver(callback, change)
            except Exception as error:
                log.warning("change listener lost its connection: %s", error)
            finally:
                self.connected.clear()
                try:
                    conn.close()
                except Exception:
                    log.debug("closing the listener connection failed", exc_info=True)

    def _parse(self, payload: str) -> Change | None:
        try:
            data = json.loads(payload)
        except ValueError:
            return EVERYTHING
        if not isinstance(data, dict):
            return EVERYTHING
        if data.get("o") == self.origin:
            return None
        user_id, job_id = data.get("u"), data.get("j")
        return Change(
            user_id=user_id if isinstance(user_id, str) else None,
            deleted=bool(data.get("d")),
            everything=bool(data.get("e")),
            job_id=job_id if isinstance(job_id, str) else None,
        )


def _deliver(callback: Callable[[Change], None], change: Change) -> None:
    try:
        callback(change)
    except Exception:
        log.exception("applying another instance's change failed")


def wait_connected(signals: Signals, timeout: float) -> bool:
    """True once the listener is LISTENing (tests and start-up checks); True at once when disabled."""
    if not signals.enabled:
        return True
    deadline = time.monotonic() + timeout
    return signals.connected.wait(max(0.0, deadline - time.monotonic()))
