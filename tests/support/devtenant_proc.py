"""Run ``python -m devtenant`` as a subprocess for tests (self-contained: stdlib + httpx).

with DevTenant(users=200, rate_limit="free") as dt:
    dt.base_url, dt.stats(), dt.reset(), dt.add_fault(path="/api/v2/users", status=500), ...

Support desk: dt.try_sign_in(email, password), dt.lock(user_id, ip), dt.outbox(), dt.set_plan("professional"),
dt.support_examples(), dt.support_state(user_id), dt.reset_password(ticket_url, new_password), dt.tenant_logs().

The process plumbing (``--port 0`` and the ready line, health wait, stop) is `devtenant.processes`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from devtenant.processes import Child, ChildFailed, start_devtenant

ROOT = Path(__file__).resolve().parents[2]

CLIENT_ID = "dashboard"
CLIENT_SECRET = "dashboard-secret"
STAFF_PASSWORD = "devtenant"


class DevTenantError(RuntimeError):
    pass


class DevTenant:
    """A dev tenant subprocess on loopback, on the port it picked itself (``--port 0``) unless given one.

    Options map to the CLI: ``users``, ``seed``, ``latency_ms``, ``rate_limit``, ``token_ttl``,
    ``id_token_ttl``, ``index_lag_ms``, ``plan`` (``extra_args`` for anything else). The addresses
    (``base_url``, ``domain``, ...) are known once it has started.
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
        plan: str = "enterprise",
        port: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float | None = None,
        start: bool = True,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or 0
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
            "--plan",
            plan,
        ]
        if token_ttl is not None:
            args += ["--token-ttl", str(token_ttl)]
        if id_token_ttl is not None:
            args += ["--id-token-ttl", str(id_token_ttl)]
        self.args = args + list(extra_args or [])
        self.startup_timeout = startup_timeout or (60.0 if users > 20000 else 30.0)
        self.child: Child | None = None
        self.startup_seconds: float | None = None
        self._http: httpx.Client | None = None
        if start:
            self.start()

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> DevTenant:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        started = time.monotonic()
        try:
            self.child, self.base_url = start_devtenant(
                self.args, python=sys.executable, timeout=self.startup_timeout, cwd=ROOT, env=env
            )
        except ChildFailed as failed:
            raise DevTenantError(str(failed)) from None
        self.startup_seconds = time.monotonic() - started
        self.port = int(self.base_url.rsplit(":", 1)[1])
        self.domain = f"{self.host}:{self.port}"
        self.api_audience = f"{self.base_url}/api/v2/"
        self.issuer = f"{self.base_url}/"
        self._http = httpx.Client(base_url=self.base_url, timeout=30, trust_env=False)
        return self

    @property
    def proc(self) -> subprocess.Popen | None:
        return self.child.proc if self.child is not None else None

    def output(self) -> str:
        return self.child.output() if self.child is not None else ""

    def stop(self) -> None:
        child, self.child = self.child, None
        if child is not None:
            child.stop()
        if self._http is not None:
            self._http.close()
            self._http = None

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

    def set_exports(self, **settings) -> dict:
        """The export jobs' speed and lifetimes, or a failure for the next one (devtenant/jobs_api.py)."""
        return self._call("PUT", "/__dev/exports", json=settings)

    def exports(self) -> dict:
        return self._call("GET", "/__dev/exports")

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

    # support desk ----------------------------------------------------------------------------------
    def outbox(self) -> list[dict]:
        """Emails the tenant would have sent, oldest first: ``{"to","kind","link","user_id","created_at"}``."""
        return self._call("GET", "/__dev/outbox")

    def clear_outbox(self) -> None:
        self._call("DELETE", "/__dev/outbox")

    def set_plan(self, plan: str) -> None:
        """``free``, ``essentials``, ``professional`` or ``enterprise`` (the default; sessions need it)."""
        self._call("PUT", "/__dev/plan", json={"plan": plan})

    def support_examples(self, n: int = 5) -> dict[str, list[str]]:
        """Generated user ids by trait: locked, failing, mfa, sessions, unverified, admin_blocked, social,
        never_logged_in, no_problem."""
        return self._call("GET", "/__dev/support", params={"n": n})

    def support_state(self, user_id: str) -> dict:
        """A user's support-desk state: locked IPs, blocked_for, failures, mfa, sessions, refresh_tokens,
        remember_browser_invalidations, events, last_types, password (what the form accepts, or None)."""
        return self._call("GET", f"/__dev/users/{quote(user_id, safe='')}/support")

    def lock(self, user_id: str, ip: str = "203.0.113.4") -> dict:
        """Lock a user for an IP as 10 wrong passwords would (brute-force protection)."""
        return self._call("POST", f"/__dev/users/{quote(user_id, safe='')}/blocks", json={"ip": ip})

    def tenant_logs(self) -> list[dict]:
        """Log events without a known user (``fu``: unknown email in the sign-in form)."""
        return self._call("GET", "/__dev/logs")

    def try_sign_in(
        self,
        email: str,
        password: str,
        *,
        client_id: str = CLIENT_ID,
        redirect_uri: str = "http://localhost:8501/callback",
    ) -> httpx.Response:
        """One attempt through the real sign-in form (GET /authorize, POST /u/login); a fresh cookie jar.

        302 with ``code=`` in ``location`` on success; 401 and the form with the error text otherwise."""
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile email",
            "state": "devtenant-proc",
        }
        with httpx.Client(base_url=self.base_url, timeout=30, trust_env=False) as browser:
            browser.get("/authorize", params=params).raise_for_status()
            return browser.post("/u/login", data={**params, "email": email, "password": password})

    def reset_password(self, ticket_url: str, password: str) -> httpx.Response:
        """Open a reset link (ticket or outbox) and set a new password through the dev tenant's page."""
        token = parse_qs(urlsplit(ticket_url).query)["ticket"][0]
        with httpx.Client(base_url=self.base_url, timeout=30, trust_env=False) as browser:
            browser.get("/lo/reset", params={"ticket": token})
            return browser.post(
                "/lo/reset", data={"ticket": token, "password": password, "confirm": password}
            )

    def add_roles(self, count: int) -> list[dict]:
        """More roles for the tenant ("Extra role 003", ...) on top of the seeded three; a reset drops them."""
        return self._call("POST", "/__dev/roles", json={"count": count})
