"""`python -m bench --only cluster`: what the proxy sustains with two app instances behind it against one.

One `make cluster` set-up (deploy.cluster, nginx in front of two `streamlit run app.py`), and a second
nginx in the same set-up listing only the first instance. For each, closed-loop clients (each with its own
affinity cookie, so the hash spreads them) request `/_stcore/health` (what probes and readiness checks
hit) and `/` (a page load: the app's HTML) for a few seconds; requests per second, then the ratio two to
one. Memory: each instance's resident set after the load. The load generator runs in two processes of its
own on the same machine, so on 2 cores the ratio shows what the proxy and the instances share, not a
server farm.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import psutil

from deploy.cluster import Cluster
from deploy.proxy import ROUTE_COOKIE, render_conf, start_nginx
from devtenant.processes import free_port

PATHS = {"health": "/_stcore/health", "page": "/"}
LOAD_PROCESSES = 2


async def _closed_loop(port: int, path: str, clients: int, seconds: float) -> tuple[int, int]:
    """`clients` concurrent clients, each its own cookie, requesting `path` for `seconds`: (ok, failed)."""
    ok = failed = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=10, trust_env=False, limits=limits) as http:

        async def client() -> None:
            nonlocal ok, failed
            headers = {"Host": f"localhost:{port}", "Cookie": f"{ROUTE_COOKIE}={secrets.token_hex(16)}"}
            while time.monotonic() < deadline:
                try:
                    answer = await http.get(f"http://127.0.0.1:{port}{path}", headers=headers)
                    if answer.status_code == 200:
                        ok += 1
                    else:
                        failed += 1
                except httpx.HTTPError:
                    failed += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return ok, failed


def _load(args: tuple[int, str, int, float]) -> tuple[int, int]:
    return asyncio.run(_closed_loop(*args))


def requests_per_second(port: int, path: str, *, clients: int, seconds: float) -> dict:
    with ProcessPoolExecutor(LOAD_PROCESSES) as pool:
        per = max(1, clients // LOAD_PROCESSES)
        started = time.monotonic()
        results = list(pool.map(_load, [(port, path, per, seconds)] * LOAD_PROCESSES))
        elapsed = time.monotonic() - started
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    return {"rps": round(ok / seconds, 1), "ok": ok, "failed": failed, "wall_s": round(elapsed, 2)}


def rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return round(total / 2**20, 1)


def proxy_throughput(tenant, workdir: Path | None = None, *, seconds: float = 5.0, clients: int = 32) -> dict:
    """Requests per second through nginx to two instances and to one, for each path; memory per instance."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    # The audit database plays no part in health checks and page loads: each instance's own SQLite file.
    with Cluster(workdir / "cluster", tenant_url=tenant.base_url, audit_database_url="") as cluster:
        single_port = free_port()
        first = cluster.instances[0]
        conf = render_conf(
            workdir / "nginx-one", listen_port=single_port, instances=[(first.name, first.port)]
        )
        single = start_nginx(workdir / "nginx-one", conf, listen_port=single_port)
        try:
            out: dict = {"seconds": seconds, "clients": clients, "load_processes": LOAD_PROCESSES}
            for name, path in PATHS.items():
                requests_per_second(cluster.proxy_port, path, clients=clients, seconds=1)  # warm-up
                two = requests_per_second(cluster.proxy_port, path, clients=clients, seconds=seconds)
                one = requests_per_second(single_port, path, clients=clients, seconds=seconds)
                out[name] = {
                    "two": two,
                    "one": one,
                    "ratio": round(two["rps"] / one["rps"], 2) if one["rps"] else None,
                }
            out["rss_mb"] = {instance.name: rss_mb(instance.child.pid) for instance in cluster.instances}
        finally:
            single.stop()
    return out
