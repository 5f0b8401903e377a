"""`make run`: the app on the local dev tenant, or on the real tenant when Auth0 settings exist.

With no AUTH0_DOMAIN in the environment or `.env`, start `python -m devtenant` on 127.0.0.1:8600 and
`streamlit run app.py` on :8501 pointed at it; print the address and the sign-in accounts; Ctrl-C stops
both. Arguments are passed to the dev tenant (`make run DEVTENANT_ARGS="--users 5000 --latency-ms 50"`).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from dotenv import dotenv_values

from devtenant.processes import ChildFailed, stop_processes, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
DEV_CLIENT = {"AUTH0_CLIENT_ID": "dashboard", "AUTH0_CLIENT_SECRET": "dashboard-secret"}


def configured_domain(environ: dict[str, str], dotenv_path: Path) -> str:
    """The AUTH0_DOMAIN the app would use, from the environment or `.env` (empty when none)."""
    file_values = dotenv_values(dotenv_path) if dotenv_path.is_file() else {}
    return (environ.get("AUTH0_DOMAIN") or file_values.get("AUTH0_DOMAIN") or "").strip()


def app_address(environ: dict[str, str], dotenv_path: Path) -> str:
    """Where `make run` lets Streamlit listen: loopback, unless STREAMLIT_SERVER_ADDRESS says otherwise.

    `make run` is for a person's own machine; serving the admin tool on every interface is a choice to
    make on purpose (a deployment), never a default."""
    file_values = dotenv_values(dotenv_path) if dotenv_path.is_file() else {}
    chosen = environ.get("STREAMLIT_SERVER_ADDRESS") or file_values.get("STREAMLIT_SERVER_ADDRESS") or ""
    return chosen.strip() or "127.0.0.1"


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def healthy(url: str, process: subprocess.Popen, seconds: float) -> bool:
    """Whether `url` answers 200 within `seconds` (False too when the process exits first); the
    children print to this terminal, so their output is already above."""
    try:
        wait_healthy(url, process=process, timeout=seconds, interval=0.2)
    except ChildFailed:
        return False
    return True


def streamlit_command(app_port: int, address: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(app_port),
        "--server.address", address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def stop(processes: list[subprocess.Popen]) -> None:
    """What Ctrl-C would do (SIGINT), then kill what still runs after 10 s."""
    stop_processes(processes, sig=signal.SIGINT, timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app-port", type=int, default=int(os.environ.get("APP_PORT", "8501")))
    parser.add_argument("--tenant-port", type=int, default=8600)
    args, devtenant_args = parser.parse_known_args(argv)

    env = dict(os.environ)
    if configured_domain(env, ROOT / ".env"):
        print("Auth0 settings found: running the app against your tenant (see .env).", flush=True)
        address = app_address(env, ROOT / ".env")
        print(f"Serving on {address}:{args.app_port}.", flush=True)
        process = subprocess.Popen(streamlit_command(args.app_port, address), cwd=ROOT, env=env)
        try:
            return process.wait()
        except KeyboardInterrupt:
            stop([process])
            return 0

    for port in (args.tenant_port, args.app_port):
        if not port_is_free(port):
            print(
                f"Port {port} is already in use. Stop what runs there, or pick another port.", file=sys.stderr
            )
            return 1

    base_url = f"http://127.0.0.1:{args.tenant_port}"
    tenant = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtenant",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.tenant_port),
            *devtenant_args,
        ],
        cwd=ROOT,
        env=env,
    )
    processes = [tenant]
    try:
        if not healthy(f"{base_url}/healthz", tenant, seconds=120):
            print("The dev tenant did not start; see its output above.", file=sys.stderr)
            stop(processes)
            return 1
        env.update(DEV_CLIENT, AUTH0_DOMAIN=base_url, APP_URL=f"http://localhost:{args.app_port}")
        app = subprocess.Popen(streamlit_command(args.app_port, "127.0.0.1"), cwd=ROOT, env=env)
        processes.append(app)
        if not healthy(f"http://127.0.0.1:{args.app_port}/_stcore/health", app, seconds=60):
            print("Streamlit did not start; see its output above.", file=sys.stderr)
            stop(processes)
            return 1
        accounts = httpx.get(f"{base_url}/__dev/accounts", timeout=3).json()
        print("\n  Auth0 User Admin is running on the local dev tenant.", flush=True)
        print(f"  Open http://localhost:{args.app_port} and sign in with one of:", flush=True)
        for account in accounts:
            role = account.get("role") or "no role"
            print(f"    {account['email']:<22} password {account['password']:<10} ({role})", flush=True)
        print("  Ctrl-C stops both servers.\n", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    raise SystemExit(main())
