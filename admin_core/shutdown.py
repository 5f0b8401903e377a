"""A clean stop on SIGTERM: fail the health check, let running changes finish (bounded), refuse new ones.

Kubernetes (and `make cluster`) stop an instance with SIGTERM, then SIGKILL after a grace period. On
SIGTERM this process, in order: reports unhealthy (so the proxy and the readiness probe send nobody new);
refuses every change that has not started (each is recorded in the audit log as not done, so nothing is
left "attempted" that never reached Auth0); waits for the changes already talking to Auth0, at most
SHUTDOWN_DRAIN_SECONDS; runs the drain hooks (bulk jobs finish or hand over); tells its sessions; then lets
Streamlit stop. Only a change cut by the deadline keeps its "attempted" row.

Streamlit-free: the session layer (admin_core.runtime) wires this to Streamlit's health check, its event
loop and its sessions; a plain Python process can use `install_sigterm` as it is.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

RESTARTING = "This server is restarting: sign in again."
NOT_STARTED = "Not done: this server is restarting, so the change was not started. Sign in again and retry."
UNHEALTHY = "This server is shutting down"


class Draining(Exception):
    """A change asked to start while this process is shutting down."""

    message = NOT_STARTED


DrainHook = Callable[[float], None]


class Drain:
    """The process's running changes, and whether it is shutting down (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._running = 0
        self._draining = False
        self._hooks: list[DrainHook] = []

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    @contextlib.contextmanager
    def change(self) -> Iterator[None]:
        """Around one change's call to Auth0: raises Draining once shutdown has begun, else counts it."""
        with self._lock:
            if self._draining:
                raise Draining(NOT_STARTED)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Around a run of changes (a bulk action): counted like a change but never refused, so the
        drain waits while the rest of the run records each change it may no longer start."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()

    def on_drain(self, hook: DrainHook) -> None:
        """Call `hook(deadline)` (a time.monotonic() value) when shutdown begins: for work that is not one
        change, such as a bulk job, to finish or hand over by then. Hooks run one after another in the
        drain thread; an exception in one is logged and the others still run."""
        with self._lock:
            self._hooks.append(hook)

    def begin(self) -> None:
        """From now on new changes are refused and the health check fails."""
        with self._lock:
            self._draining = True
            self._lock.notify_all()

    def wait_idle(self, deadline: float) -> bool:
        """Wait until no change is running or time.monotonic() reaches `deadline`; True when idle."""
        with self._lock:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def run_hooks(self, deadline: float) -> None:
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook(deadline)
            except Exception:
                log.exception("a drain hook failed during shutdown")

    def drain(self, seconds: float) -> bool:
        """Begin, run the hooks and wait for running changes, all within `seconds`; True when none was cut."""
        self.begin()
        deadline = time.monotonic() + seconds
        hooks = threading.Thread(target=self.run_hooks, args=(deadline,), name="drain-hooks", daemon=True)
        hooks.start()
        idle = self.wait_idle(deadline)
        hooks.join(max(0.0, deadline - time.monotonic()))
        if not idle:
            log.warning("shutdown: %d change(s) still running after %.0f s; their audit rows stay 'attempted'",
                        self.running, seconds)  # fmt: skip
        return idle and not hooks.is_alive()


#: The one drain of this process (changes in admin_core.actions count themselves here).
DRAIN = Drain()


class Shutdown:
    """What SIGTERM does: `drain` (in a thread, so the signal handler returns at once), then `after`
    (tell the sessions), wait `notice_seconds` for them to hear it, then `stop` (the server's own stop)."""

    def __init__(
        self,
        *,
        drain_seconds: float,
        stop: Callable[[], None],
        after: Callable[[], None] = lambda: None,
        notice_seconds: float = 1.0,
        drain: Drain = DRAIN,
    ) -> None:
        self._drain_seconds = drain_seconds
        self._stop = stop
        self._after = after
        self._notice_seconds = notice_seconds
        self._drain = drain
        self._started = threading.Event()
        self.finished = threading.Event()

    def start(self) -> None:
        """Begin the shutdown (once; a second SIGTERM changes nothing)."""
        if self._started.is_set():
            return
        self._started.set()
        self._drain.begin()  # fail the health check and refuse new changes before anything else
        threading.Thread(target=self._run, name="shutdown", daemon=True).start()

    def _run(self) -> None:
        started = time.monotonic()
        clean = self._drain.drain(self._drain_seconds)
        log.info("shutdown: drained in %.1f s (%s)", time.monotonic() - started, "clean" if clean else "cut")
        try:
            self._after()
        except Exception:
            log.exception("shutdown: telling the sessions failed")
        time.sleep(self._notice_seconds)
        try:
            self._stop()
        finally:
            self.finished.set()


def install_sigterm(shutdown: Shutdown) -> Any:
    """Make SIGTERM start `shutdown`; returns the handler it replaced. Must run in the main thread."""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: shutdown.start())
    return previous
