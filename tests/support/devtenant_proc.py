"""Run ``python -m devtenant`` as a subprocess for tests (self-contained: stdlib + httpx).

with DevTenant(users=200, rate_limit="free") as dt:
    dt.base_url, dt.stats(), dt.reset(), dt.add_fault(path="/api/v2/users", status=500), ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

CLIENT_ID = "dashboard"
CLIENT_SECRET = "dashboard-secret"
STAFF_PASSWORD = "devtenant"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """Ask a child process to stop (SIGTERM), kill it if it has not after 10 s, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class DevTenantError(RuntimeError):
    pass


class DevTenant:
    """A dev tenant subprocess on a free loopback port.

    Options map to the CLI: ``users``, ``seed``, ``latency_ms``, ``rate_limit``, ``token_ttl``,
    ``id_token_ttl``, ``index_lag_ms`` (``extra_args`` for anything else).
    """

    def __init__(
        self,
        *,
        users: int = 150,
        seed: int = 42,
        latency_ms: int = 0,
        rate_limit: str = "none",
        token_ttl: int | None = None,
        id_token_ttl: int | None = None,
        index_lag_ms: int = 0,
        port: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float | None = None,
        start: bool = True,
    ) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        self.domain = f"{self.host}:{self.port}"
        self.api_audience = f"{self.base_url}/api/v2/"
        self.issuer = f"{self.base_url}/"
        args = [
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_ms),
            "--rate-limit",
            rate_limit,
            "--index-lag-ms",
            str(index_lag_ms),
        ]
        if token_ttl is not None:
            args += ["--token-ttl", str(token_ttl)]
        if id_token_ttl is not None:
            args += ["--id-token-ttl", str(id_token_ttl)]
        self.args = args + list(extra_args or [])
        self.startup_timeout = startup_timeout or (60.0 if users > 20000 else 30.0)
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.startup_seconds: float | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=30, trust_env=False)
        if start:
            self.start()

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> DevTenant:
        self._log = tempfile.NamedTemporaryFile(prefix="devtenant-", suffix=".log", delete=False)  # noqa: SIM115
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        started = time.monotonic()
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "devtenant", *self.args],
            cwd=str(ROOT),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = started + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise DevTenantError(
                    f"devtenant exited with {self.proc.returncode} during startup:\n{self.output()}"
                )
            try:
                if self._http.get("/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise DevTenantError(
                    f"devtenant did not answer /healthz within {self.startup_timeout:.0f} s:\n{self.output()}"
                )
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        return self

    def output(self) -> str:
        if self._log is None:
            return ""
        try:
            return Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc)
        if self._log is not None:
            self._log.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log.name)
            self._log = None
        self._http.close()

    def __enter__(self) -> DevTenant:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # control API ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kw):
        r = self._http.request(method, path, **kw)
        if r.status_code >= 400:
            raise DevTenantError(f"{method} {path} -> {r.status_code}: {r.text}")
        return r.json() if r.content else None

    def stats(self) -> dict:
        return self._call("GET", "/__dev/stats")

    def reset(self) -> None:
        self._call("POST", "/__dev/reset")

    def add_fault(self, **fault) -> dict:
        return self._call("POST", "/__dev/faults", json=fault)

    def faults(self) -> list[dict]:
        return self._call("GET", "/__dev/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/__dev/faults")

    def users(self) -> list[dict]:
        return self._call("GET", "/__dev/users")

    def create_user(self, **fields) -> dict:
        return self._call("POST", "/__dev/users", json=fields)

    def accounts(self) -> list[dict]:
        return self._call("GET", "/__dev/accounts")

    # conveniences --------------------------------------------------------------------------------
    def management_token(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> str:
        r = self._http.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "audience": self.api_audience,
            },
        )
        r.raise_for_status()
        return r.json()["access_token"]
