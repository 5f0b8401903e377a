"""Measure the dev tenant at scale: ``python -m devtenant.measure [--users 100000]``.

Starts ``python -m devtenant --port 0 --users N`` in a subprocess (devtenant/processes.py), reports
the time until it prints its ready line and answers /healthz, then times Management API pages (list,
sorted list, searches: first run and repeated) over real HTTP. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

from devtenant.processes import ChildFailed, start_devtenant

STARTUP_SECONDS = 300  # the bound on start-up; generating --users 100000 is the slow part
QUERIES = [
    None,
    "email:a*",
    'name:"*son*"',
    "name:*son*",
    "blocked:true",
    "created_at:[2026-01-01 TO *] AND NOT _exists_:last_login",
    "logins_count:[10 TO 50] AND identities.connection:github",
    "app_metadata.plan:enterprise OR user_metadata.locale:de",
    "smith",
]
SORTS = [None, "created_at:-1", "last_login:-1", "name:1", "email:1", "logins_count:-1"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    t0 = time.monotonic()
    try:
        tenant, base = start_devtenant(
            ["--users", str(args.users)], python=sys.executable, timeout=STARTUP_SECONDS
        )
    except ChildFailed as failed:
        print(f"devtenant did not start: {failed}", file=sys.stderr)
        return 1
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            started = time.monotonic() - t0
            print(f"users: {args.users} (+3 staff)")
            print(f"startup to ready: {started:.2f} s")
            tok = c.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": "dashboard",
                    "client_secret": "dashboard-secret",
                    "audience": f"{base}/api/v2/",
                },
            ).json()["access_token"]
            c.headers["authorization"] = f"Bearer {tok}"
            worst = 0.0
            for q in QUERIES:
                for sort in SORTS[:3] if q else SORTS:
                    params = {"per_page": 50, "page": 3, "include_totals": "true"}
                    if q:
                        params.update(q=q, search_engine="v3")
                    if sort:
                        params["sort"] = sort
                    times = []
                    for _ in range(args.repeat):
                        t = time.monotonic()
                        r = c.get("/api/v2/users", params=params)
                        times.append((time.monotonic() - t) * 1000)
                        assert r.status_code == 200, r.text
                    total = r.json()["total"]
                    worst = max(worst, times[0])
                    print(
                        f"  q={q!s:<58} sort={sort!s:<15} total={total:<7} first {times[0]:6.1f} ms, "
                        f"median {statistics.median(times):6.1f} ms"
                    )
            print(f"worst first-time page: {worst:.1f} ms")
            # a write invalidates cached matches; the next search pays a full scan again
            uid = c.get("/api/v2/users", params={"per_page": 1}).json()[0]["user_id"]
            c.patch(f"/api/v2/users/{uid}", json={"name": "Changed Name"})
            t = time.monotonic()
            c.get(
                "/api/v2/users",
                params={"q": "name:*son*", "search_engine": "v3", "include_totals": "true", "sort": "name:1"},
            )
            print(f"search right after a write: {(time.monotonic() - t) * 1000:.1f} ms")
    finally:
        tenant.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
