"""A real `streamlit run app.py` on a free loopback port, pointed at a dev tenant (tests and bench)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import app_environment
from tests.support.devtenant_proc import DevTenant, free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 60.0
LOG_TAIL = 12_000  # characters of server output attached to a failure report


class AppServer:
    """`streamlit run app.py` on a free loopback port, pointed at a dev tenant; output goes to a file."""

    running: list[AppServer] = []

    def __init__(self, tenant: DevTenant, workdir: Path, name: str) -> None:
        self.name = name
        self.tenant = tenant
        self.port = free_port()
        self.app_url = f"http://localhost:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"streamlit-{name}.log"
        env = dict(os.environ)
        env.update(
            app_environment(tenant.base_url, workdir, APP_URL=self.app_url, DATA_DIR=str(workdir / "data"))
        )
        env.update(PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                # Other people edit this tree while tests run: no reruns or reloads from file changes.
                "--server.fileWatcherType",
                "none",
            ],
            cwd=str(ROOT),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        AppServer.running.append(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def url(self, path: str = "", *, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        with httpx.Client(timeout=2, trust_env=False) as http:
            while True:
                if not self.alive:
                    raise RuntimeError(
                        f"streamlit exited with {self.proc.returncode} during startup:\n{self.output()}"
                    )
                try:
                    if http.get(self.url("/_stcore/health", host="127.0.0.1")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not answer /_stcore/health within {SERVER_START_TIMEOUT:.0f} s:\n"
                        f"{self.output()}"
                    )
                time.sleep(0.1)

    def check_alive(self) -> None:
        if not self.alive:
            pytest.fail(
                f"streamlit {self.name} died (exit {self.proc.returncode}):\n{self.output()[-LOG_TAIL:]}"
            )

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()
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
