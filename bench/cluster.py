"""`python -m bench --only cluster`: what the proxy sustains with two app instances behind it against one.

One `make cluster` set-up (deploy.cluster, nginx in front of two `streamlit run app.py`), and a second
nginx in the same set-up listing only the first instance. For each, closed-loop clients (each with its own
affinity cookie, so the hash spreads them) request `/_stcore/health` (what probes and readiness checks
hit) and `/` (a page load: the app's HTML) for a few seconds; requests per second, then the ratio two to
one. The load generator runs in two processes of its own on the same machine, so on 2 cores the ratio
shows what the proxy and the instances share, not a server farm.

Memory per instance (the resident set of each `streamlit run` with its children, what a pod's memory
request covers): when started, after the load (page loads fetch HTML only: no script runs), and with
signed-in sessions on the Users page (Chromium through the proxy, each its own browser context, spread by
the proxy's hash; the pages ran, with their caches and the 24 cards' data): what the first session on an
instance adds (its first run loads the pages' code and fills caches) and what each further one adds.
Without Chromium that last part is left out and says so.
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

from deploy.cluster import Cluster, Instance
from deploy.proxy import ROUTE_COOKIE, render_conf, start_nginx
from devtenant.processes import free_port
from tests.support.chromium import CHROMIUM

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


def instance_rss(instances: list[Instance]) -> dict[str, float]:
    return {instance.name: rss_mb(instance.child.pid) for instance in instances}


def signed_in_memory(cluster: Cluster, sessions: int) -> dict:
    """RSS of each instance before and with `sessions` signed-in sessions on the Users page (a few more,
    bounded, if the proxy's hash put them all on one instance), and the growth per session on each."""
    from playwright.sync_api import sync_playwright

    from bench.browser import GRID_VISIBLE, _launch, _new_page, _wait
    from tests.browser.helpers import ADMIN, sign_in, wait_idle

    names = [instance.name for instance in cluster.instances]
    held = dict.fromkeys(names, 0)
    after_first: dict[str, float] = {}
    before = instance_rss(cluster.instances)
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        contexts = []
        try:
            while len(contexts) < sessions or (min(held.values()) == 0 and len(contexts) < sessions + 6):
                context, page = _new_page(browser)
                contexts.append(context)
                answer = page.goto(cluster.url + "/")  # the page load's instance holds the session
                served = answer.headers.get("x-served-by", "?") if answer else "?"
                sign_in(page, ADMIN)  # waits for the sign-in screen first
                _wait(page, GRID_VISIBLE)
                wait_idle(page)
                held[served] = held.get(served, 0) + 1
                if held[served] == 1:  # the first session's run imports the pages' code and fills caches
                    time.sleep(1.0)
                    after_first[served] = rss_mb(cluster.instance(served).child.pid)
            time.sleep(1.0)  # let the instances settle (the sessions' last runs and sends finish)
            with_sessions = instance_rss(cluster.instances)
            connected = sum(1 for c in contexts if c.pages and not c.pages[0].is_closed())
        finally:
            for context in contexts:
                context.close()
            browser.close()
    return {
        "sessions": len(contexts),
        "connected_at_end": connected,
        "held": held,
        "rss_before_mb": before,
        "rss_mb": with_sessions,
        "rss_after_first_mb": {name: after_first.get(name) for name in names},
        # The first session on an instance costs what its first run loads (code, caches): its own figure;
        # each further one costs its session state. None where an instance held too few to tell.
        "first_session_mb": {
            name: round(after_first[name] - before[name], 1) if name in after_first else None
            for name in names
        },
        "growth_per_session_mb": {
            name: round((with_sessions[name] - after_first[name]) / (held[name] - 1), 1)
            if held.get(name, 0) > 1
            else None
            for name in names
        },
    }


def proxy_throughput(
    tenant, workdir: Path | None = None, *, seconds: float = 5.0, clients: int = 32, sessions: int = 10
) -> dict:
    """Requests per second through nginx to two instances and to one, for each path; memory per instance
    (started, after the load, with `sessions` signed-in sessions; 0 or no Chromium: no sessions)."""
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
            out["rss_started_mb"] = instance_rss(cluster.instances)
            for name, path in PATHS.items():
                requests_per_second(cluster.proxy_port, path, clients=clients, seconds=1)  # warm-up
                two = requests_per_second(cluster.proxy_port, path, clients=clients, seconds=seconds)
                one = requests_per_second(single_port, path, clients=clients, seconds=seconds)
                out[name] = {
                    "two": two,
                    "one": one,
                    "ratio": round(two["rps"] / one["rps"], 2) if one["rps"] else None,
                }
            out["rss_mb"] = instance_rss(cluster.instances)  # after the load
            if sessions and CHROMIUM.exists():
                out["signed_in"] = signed_in_memory(cluster, sessions)
            else:
                out["signed_in"] = {"skipped": f"no sessions asked for, or no Chromium at {CHROMIUM}"}
        finally:
            single.stop()
    return out
