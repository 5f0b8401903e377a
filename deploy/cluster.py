"""`make cluster`: nginx in front of two app instances, a PostgreSQL audit database and the dev tenant.

Everything listens on 127.0.0.1 and is started and stopped together, like `make run`: the address and
the sign-in accounts are printed, Ctrl-C stops it all (TERM, then KILL after 10 s). An instance that dies
is reported and the others keep serving (that is the point). `python -m deploy.cluster --help`.

The tests (`tests/cluster/`) and the bench (`bench/cluster.py`) use `Cluster` with their own dev tenant
and PostgreSQL: `Cluster(workdir, tenant_url=..., audit_database_url=...).start()`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from admin_core.settings import SETTINGS
from deploy.postgres import INSTALL_HINT as POSTGRES_HINT
from deploy.postgres import PostgresServer, PostgresUnavailable, start_postgres
from deploy.proxy import INSTALL_HINT as NGINX_HINT
from deploy.proxy import NginxUnavailable, render_conf, start_nginx
from devtenant.processes import Child, ChildFailed, free_port, start_devtenant, stop_processes

ROOT = Path(__file__).resolve().parent.parent
DEV_CLIENT = {"AUTH0_CLIENT_ID": "dashboard", "AUTH0_CLIENT_SECRET": "dashboard-secret"}
APP_START_TIMEOUT_S = 90.0  # two Streamlit processes start at once on a 2-core machine
PORT_ATTEMPTS = 3


@dataclass
class Instance:
    """One `streamlit run app.py` behind the proxy."""

    name: str
    port: int
    child: Child
    env: dict[str, str] = field(repr=False)

    @property
    def alive(self) -> bool:
        return self.child.alive

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def instance_names(count: int) -> list[str]:
    return [f"app-{index}" for index in range(1, count + 1)]


def app_environment(
    *,
    tenant_url: str,
    app_url: str,
    audit_database_url: str,
    data_dir: Path,
    cookie_secret: str,
) -> dict[str, str]:
    """The settings of one instance: every app setting explicitly (a developer's `.env` never leaks in),
    the same for all instances but the scratch directory."""
    env = {spec.name: "" for spec in SETTINGS}
    env.update(
        DEV_CLIENT,
        AUTH0_DOMAIN=tenant_url,
        APP_URL=app_url,
        AUDIT_DATABASE_URL=audit_database_url,
        DATA_DIR=str(data_dir),
        TRUST_PROXY_HEADERS="true",  # nginx sets X-Forwarded-Host itself (deploy/nginx/)
        # One secret for every instance: Streamlit signs its cookies (XSRF) with it, so a browser moved to
        # another instance is not refused.
        STREAMLIT_SERVER_COOKIE_SECRET=cookie_secret,
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def streamlit_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


class Cluster:
    """nginx on `proxy_port` (a free one by default) in front of `instances` app processes.

    Without `tenant_url` a dev tenant is started (`devtenant_args` go to it); without
    `audit_database_url` a throwaway PostgreSQL is. `extra_env` is added to every instance's settings.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        instances: int = 2,
        proxy_port: int | None = None,
        tenant_url: str | None = None,
        audit_database_url: str | None = None,
        devtenant_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.count = instances
        self.proxy_port = proxy_port or free_port()
        self.tenant_url = tenant_url
        self.audit_database_url = audit_database_url
        self.devtenant_args = list(devtenant_args or [])
        self.extra_env = dict(extra_env or {})
        self.cookie_secret = secrets.token_hex(32)
        self.instances: list[Instance] = []
        self.tenant: Child | None = None
        self.postgres: PostgresServer | None = None
        self.nginx: Child | None = None

    # --- addresses ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The address people open (the app's APP_URL)."""
        return f"http://localhost:{self.proxy_port}"

    def proxy_url(self, path: str = "") -> str:
        """The proxy on its IP, for scripts (no name lookup of `localhost`)."""
        return f"http://127.0.0.1:{self.proxy_port}{path}"

    def instance(self, name: str) -> Instance:
        return next(instance for instance in self.instances if instance.name == name)

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            if self.audit_database_url is None:
                self.postgres = start_postgres()
                self.audit_database_url = self.postgres.create_database("audit")
            if self.tenant_url is None:
                self.tenant, self.tenant_url = start_devtenant(
                    ["--host", "127.0.0.1", *self.devtenant_args],
                    python=sys.executable,
                    timeout=60,
                    cwd=ROOT,
                    log_path=self.workdir / "devtenant.log",
                )
            self._start_instances()
            conf = render_conf(
                self.workdir / "nginx",
                listen_port=self.proxy_port,
                instances=[(instance.name, instance.port) for instance in self.instances],
            )
            self.nginx = start_nginx(self.workdir / "nginx", conf, listen_port=self.proxy_port)
            with httpx.Client(timeout=5, trust_env=False) as http:
                answer = http.get(self.proxy_url("/_stcore/health"), headers={"Host": "localhost"})
            if answer.status_code != 200:
                raise ChildFailed(f"the proxy answered {answer.status_code} for /_stcore/health")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_instances(self) -> None:
        names = instance_names(self.count)
        pending = {name: self._launch(name) for name in names}
        deadline = time.monotonic() + APP_START_TIMEOUT_S
        for name in names:
            for attempt in range(1, PORT_ATTEMPTS + 1):
                instance = pending[name]
                try:
                    instance.child.wait_healthy(
                        instance.url("/_stcore/health"),
                        timeout=max(5.0, deadline - time.monotonic()),
                        interval=0.1,
                    )
                    break
                except ChildFailed as failed:
                    instance.child.stop()
                    self.instances.remove(instance)
                    if attempt == PORT_ATTEMPTS or f"Port {instance.port} is not available" not in str(
                        failed
                    ):
                        raise
                    pending[name] = self._launch(name)

    def _launch(self, name: str) -> Instance:
        port = free_port()
        assert self.tenant_url is not None and self.audit_database_url is not None
        env = app_environment(
            tenant_url=self.tenant_url,
            app_url=self.url,
            audit_database_url=self.audit_database_url,
            data_dir=self.workdir / name / "data",
            cookie_secret=self.cookie_secret,
        )
        env.update(self.extra_env)
        child = Child(
            streamlit_command(port),
            name=f"streamlit {name}",
            cwd=ROOT,
            env={**os.environ, **env},
            log_path=self.workdir / f"{name}.log",
        )
        instance = Instance(name=name, port=port, child=child, env=env)
        self.instances.append(instance)
        return instance

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one instance (SIGKILL: it dies at once, as a crash would) and reap it."""
        self.instance(name).child.stop(sig=sig, timeout=30)

    def stop(self) -> None:
        """nginx first (no new requests), then the instances, the dev tenant and PostgreSQL."""
        children = [child for child in (self.nginx, *(i.child for i in self.instances), self.tenant) if child]
        stop_processes([child.proc for child in children], sig=signal.SIGTERM, timeout=10)
        for child in children:
            child.stop()
        self.nginx, self.tenant = None, None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def output(self) -> dict[str, str]:
        """Every child's output so far, by name (for failure reports)."""
        found = {instance.name: instance.child.output() for instance in self.instances}
        if self.nginx is not None:
            with contextlib.suppress(OSError):
                found["nginx error.log"] = (self.workdir / "nginx" / "error.log").read_text(errors="replace")
        return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8500")))
    parser.add_argument("--instances", type=int, default=2)
    args, devtenant_args = parser.parse_known_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cluster-"))
    cluster = Cluster(workdir, instances=args.instances, proxy_port=args.port, devtenant_args=devtenant_args)
    print(f"Starting PostgreSQL, the dev tenant, {args.instances} app instances and nginx ...", flush=True)
    try:
        cluster.start()
    except PostgresUnavailable as error:
        print(f"{error} {POSTGRES_HINT}", file=sys.stderr)
        return 1
    except NginxUnavailable as error:
        print(f"{error} {NGINX_HINT}", file=sys.stderr)
        return 1
    except ChildFailed as error:
        print(f"The cluster did not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    try:
        with httpx.Client(timeout=5, trust_env=False) as http:
            accounts = http.get(f"{cluster.tenant_url}/__dev/accounts").json()
        print("\n  Auth0 User Admin is running as a cluster on the local dev tenant.", flush=True)
        print(f"  Open {cluster.url} and sign in with one of:", flush=True)
        for account in accounts:
            role = account.get("role") or "no role"
            print(f"    {account['email']:<22} password {account['password']:<10} ({role})", flush=True)
        print(f"  Behind nginx on :{cluster.proxy_port}:", flush=True)
        for instance in cluster.instances:
            print(f"    {instance.name}  {instance.url()}  (log {instance.child.log_path})", flush=True)
        print(f"    audit database  {cluster.audit_database_url}", flush=True)
        print(f"    dev tenant      {cluster.tenant_url}", flush=True)
        print("  Each answer names its instance in X-Served-By. Ctrl-C stops everything.\n", flush=True)
        reported: set[str] = set()
        while cluster.nginx is not None and cluster.nginx.alive and cluster.tenant and cluster.tenant.alive:
            for instance in cluster.instances:
                if not instance.alive and instance.name not in reported:
                    reported.add(instance.name)
                    code = instance.child.proc.returncode
                    print(f"  {instance.name} stopped (exit {code}); the others keep serving.", flush=True)
            if len(reported) == len(cluster.instances):
                print("  Every app instance has stopped.", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        print("nginx or the dev tenant stopped; see the logs in " + str(workdir), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
