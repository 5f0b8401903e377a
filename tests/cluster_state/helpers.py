"""The test side of tests/cluster_state/instance.py: start an instance, send it commands, read its answers."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

from admin_core.audit import AuditEvent, AuditStore

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "@@ "
ANSWER_TIMEOUT = 60.0


class Instance:
    """One app instance process; `ask` sends a command and returns its answer (a dict)."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
            [sys.executable, "-m", "tests.cluster_state.instance"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._answers: queue.Queue[dict] = queue.Queue()
        self._events: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(ANSWER):
                message = json.loads(line[len(ANSWER) :])
                (self._events if "event" in message else self._answers).put(message)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def ask(self, do: str, *, timeout: float = ANSWER_TIMEOUT, **fields) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"do": do, **fields}) + "\n")
        self.proc.stdin.flush()
        return self._next(self._answers, timeout, do)

    def event(self, *, timeout: float = ANSWER_TIMEOUT) -> dict:
        return self._next(self._events, timeout, "an event")

    def _next(self, source: queue.Queue[dict], timeout: float, what: str) -> dict:
        try:
            return source.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"instance {self.name} gave no answer to {what} in {timeout} s "
                f"(exit {self.proc.poll()}):\n{self.output()}"
            ) from None

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"instance {self.name} still runs after {timeout} s:\n{self.output()}"
            ) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def audit_rows(url: str, action: str = "delete") -> list[AuditEvent]:
    store = AuditStore(url)
    try:
        return store.query(action=action, per_page=1000).events
    finally:
        store.close()


def claims_left(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM change_claims WHERE NOT done")).scalar_one()
    finally:
        engine.dispose()
