"""A real `streamlit run app.py` on a free loopback port, pointed at a dev tenant (tests and bench)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import psutil
import pytest

from devtenant.processes import Child, ChildFailed, free_port
from tests.support.app_env import app_environment
from tests.support.devtenant_proc import DevTenant

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 60.0
LOG_TAIL = 12_000  # characters of server output attached to a failure report
# The app's settings name its own port (APP_URL, the sign-in redirect URI) before Streamlit starts, so the
# port is picked here, not by `--server.port 0`; one taken in between is retried with a new pick.
PORT_ATTEMPTS = 3


class AppServer:
    """`streamlit run app.py` on a free loopback port, pointed at a dev tenant; output goes to a file."""

    running: list[AppServer] = []

    def __init__(self, tenant: DevTenant, workdir: Path, name: str) -> None:
        self.name = name
        self.tenant = tenant
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"streamlit-{name}.log"
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.port = free_port()
            self.app_url = f"http://localhost:{self.port}"
            self.child = self._start(workdir)
            AppServer.running.append(self)
            try:
                self.child.wait_healthy(
                    self.url("/_stcore/health", host="127.0.0.1"), timeout=SERVER_START_TIMEOUT, interval=0.1
                )
                return
            except ChildFailed as failed:
                self.stop()
                if attempt == PORT_ATTEMPTS or f"Port {self.port} is not available" not in str(failed):
                    raise
            except BaseException:
                self.stop()
                raise

    def _start(self, workdir: Path) -> Child:
        env = app_environment(
            self.tenant.base_url, workdir, APP_URL=self.app_url, DATA_DIR=str(workdir / "data")
        )
        env.update(PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(self.port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            # Other people edit this tree while tests run: no reruns or reloads from file changes.
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        return Child(
            command,
            name=f"streamlit {self.name}",
            cwd=ROOT,
            env={**os.environ, **env},
            log_path=self.log_path,
        )

    def url(self, path: str = "", *, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def alive(self) -> bool:
        return self.child.alive

    @property
    def proc(self):
        return self.child.proc

    def output(self) -> str:
        return self.child.output()

    def check_alive(self) -> None:
        if not self.alive:
            pytest.fail(
                f"streamlit {self.name} died (exit {self.proc.returncode}):\n{self.output()[-LOG_TAIL:]}"
            )

    def stop(self) -> None:
        self.child.stop()
        if self in AppServer.running:
            AppServer.running.remove(self)

    def rss(self) -> int:
        """Resident memory of the server process and its children, in bytes."""
        process = psutil.Process(self.proc.pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total
