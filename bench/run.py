"""`python -m bench` (`make bench`): the whole benchmark; `--quick` for sizes 100 and 1,000 without a browser.

For each tenant size (a dev tenant at 50 ms latency, started in turn) it measures, in this process with
AppTest: Management API requests and wall time per view (cold and warm), client-credentials grants over
200 reruns in 5 sessions, and warm-rerun server time of the Users grid, the table and the Overview next to
their floors. At one size it drives Chromium against a real `streamlit run`: click-to-visible times, and
the server's RSS with 1 and 20 signed-in sessions. Prints one table; writes bench/results.json and
bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL_SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--quick", action="store_true", help="sizes 100 and 1,000, fewer reruns, no browser")
    p.add_argument("--sizes", help="comma-separated tenant sizes (default 100,1000,10000,100000)")
    p.add_argument("--reruns", type=int, help="warm reruns per timing series (default 40; quick 10)")
    p.add_argument(
        "--only",
        choices=("requests", "timing", "browser", "export", "bulk", "signin", "cluster"),
        action="append",
        help="run only these parts (repeatable); 'requests' = request counts and token grants",
    )
    p.add_argument("--no-browser", action="store_true", help="skip the browser part")
    p.add_argument("--browser-size", type=int, default=1_000, help="tenant size for the browser part")
    p.add_argument("--sessions", type=int, default=20, help="signed-in browser sessions for the RSS part")
    p.add_argument("--latency-ms", type=int, default=50, help="dev tenant latency (default 50)")
    p.add_argument(
        "--export-size", type=int, help="tenant size for the export part (default 100,000; quick 10,000)"
    )
    p.add_argument(
        "--signin-runs", type=int, help="fresh browser profiles in the sign-in part (default 5; quick 3)"
    )
    p.add_argument("--out", type=Path, default=HERE, help="where results.json and results.md go")
    args = p.parse_args(argv)
    if args.sizes:
        args.sizes = tuple(int(s.replace("_", "").replace(",", "")) for s in args.sizes.split(","))
    else:
        args.sizes = QUICK_SIZES if args.quick else FULL_SIZES
    args.reruns = args.reruns or (10 if args.quick else 40)
    parts = set(args.only or ("requests", "timing", "browser", "export", "bulk", "signin", "cluster"))
    if args.quick or args.no_browser:
        parts.discard("browser")
        if not args.only:  # the export part drives Chromium too: only when asked for by name
            parts.discard("export")
    if args.no_browser or (args.quick and "signin" not in (args.only or ())):
        parts.discard("signin")  # a browser part: in --quick only when asked for by name (fewer runs)
    args.export_size = args.export_size or (10_000 if args.quick else 100_000)
    args.parts = parts
    args.signin_runs = args.signin_runs or (3 if args.quick else 5)
    return args


def machine() -> dict:
    import streamlit

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "streamlit": streamlit.__version__,
        "loadavg": load,
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quiet_streamlit() -> None:
    """AppTest outside `streamlit run` logs 'missing ScriptRunContext' and 'No runtime found' warnings."""
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # also for the `streamlit run` it starts
    import streamlit.logger

    streamlit.logger.set_log_level("error")
    # AppTest resets Streamlit's log levels on each run; a filter on the two chatty loggers stays.
    for name in (
        "streamlit.runtime.scriptrunner_utils.script_run_context",
        "streamlit.runtime.caching.cache_data_api",
    ):
        logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    quiet_streamlit()
    from bench import appviews, metadata_save, report
    from bench import roles as bench_roles
    from bench.env import app_settings, run_app_script_every_time, share_script_cache
    from tests.support.devtenant_proc import DevTenant

    share_script_cache()
    run_app_script_every_time()
    started = time.monotonic()
    results: dict = {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "sizes": list(args.sizes),
            "latency_ms": args.latency_ms,
            "reruns": args.reruns,
            "quick": args.quick,
            "parts": sorted(args.parts),
            "browser_size": args.browser_size if "browser" in args.parts else None,
            "sessions": args.sessions,
        },
        "sizes": {},
    }
    browser_sizes = {args.browser_size} if "browser" in args.parts else set()
    workroot = Path(tempfile.mkdtemp(prefix="bench-"))
    tenant_sizes = set(args.sizes) if args.parts & {"requests", "timing"} else set()  # not for signin alone
    for size in sorted(tenant_sizes | browser_sizes):
        log(f"dev tenant with {size:,} users ({args.latency_ms} ms latency)")
        with DevTenant(users=size, latency_ms=args.latency_ms) as tenant:
            entry: dict = {"tenant_startup_s": round(tenant.startup_seconds or 0, 2)}
            if size in args.sizes and args.parts & {"requests", "timing"}:
                with app_settings(tenant, workroot / f"apptest-{size}"):
                    if "requests" in args.parts:
                        log(f"{size:,}: requests per view")
                        entry["views"] = appviews.requests_per_view(tenant)
                        log(f"{size:,}: token grants (5 sessions x {40 if not args.quick else 8} reruns)")
                        entry["tokens"] = appviews.token_grants(tenant, reruns=8 if args.quick else 40)
                        log(f"{size:,}: the person's file (support desk), cold and warm")
                        entry["person"] = appviews.person_file_cost(tenant)
                        log(f"{size:,}: a role change and the refetch of the one person")
                        entry["role_change"] = bench_roles.role_change_cost(tenant)  # added, then removed
                        log(f"{size:,}: a metadata save and the refetch of the person")
                        entry["metadata_save"] = metadata_save.metadata_save_cost(tenant)
                    if "timing" in args.parts:
                        log(f"{size:,}: warm reruns ({args.reruns} each, interleaved with the floors)")
                        entry["timing"] = appviews.warm_reruns(tenant, reruns=args.reruns)
            if size in browser_sizes:
                from bench import browser

                tenant.reset()
                log(f"{size:,}: browser timings")
                results["browser"] = {"size": size, "timings": browser.timings(tenant, workroot / "browser")}
                tenant.reset()
                log(f"{size:,}: RSS with 1 and {args.sessions} signed-in sessions")
                results["browser"]["memory"] = browser.memory(
                    tenant, workroot / "memory", sessions=args.sessions
                )
            results["sizes"][str(size)] = entry
    if "export" in args.parts:
        from bench import export

        log(f"export of every user at {args.export_size:,} users: server RSS growth, requests")
        results["export"] = export.export_memory(args.export_size, workroot / "export")
    if "bulk" in args.parts:  # issue 19 part 3: 200 deletes as a job, Free plan and no limit
        from bench import bulk

        log("bulk jobs: 200 deletes at the Free plan's limit (about 100 s), then with no limit")
        results["bulk"] = bulk.bulk_runs(workroot, quick=args.quick, latency_ms=args.latency_ms)
    if "signin" in args.parts:
        from bench import signin

        # No added latency (issue 19): the sign-in's own cost, not the network's.
        log(f"sign-in: {args.signin_runs} fresh browser profiles, each reloaded and signed in again")
        with DevTenant(users=args.browser_size, latency_ms=0) as tenant:
            results["signin"] = {
                "size": args.browser_size,
                **signin.signin_timings(tenant, workroot / "signin", runs=args.signin_runs),
            }
    if "cluster" in args.parts:
        from bench import cluster as bench_cluster
        from deploy.proxy import nginx_available

        if nginx_available():
            # Signed-in sessions for the memory per instance: Chromium, so none with --no-browser, 2 in
            # --quick (the part was asked for by name), 10 in the full run.
            sessions = 0 if args.no_browser else 2 if args.quick else 10
            log(
                f"cluster: requests per second through nginx, two instances against one; memory, {sessions} sessions"
            )
            with DevTenant(users=100, latency_ms=args.latency_ms) as tenant:
                results["cluster"] = bench_cluster.proxy_throughput(
                    tenant, workroot / "cluster", seconds=2 if args.quick else 5, sessions=sessions
                )
        else:
            log("cluster: skipped (no nginx; apt-get install nginx)")
    results["machine"]["loadavg_end"] = machine()["loadavg"]
    results["seconds"] = round(time.monotonic() - started, 1)
    results["targets"] = report.targets(results)
    table = report.markdown(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "results.md").write_text(table + "\n")
    print(table)
    log(
        f"done in {results['seconds']:.0f} s; wrote {args.out / 'results.json'} and {args.out / 'results.md'}"
    )
    return 0
