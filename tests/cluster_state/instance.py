"""One app instance for the cluster-state tests: the app's own session layer (`admin_core.runtime`,
`admin_core.actions`) in a process of its own, driven over stdin/stdout with one JSON command a line.

Two of these on one PostgreSQL audit database are two instances of the app as far as shared state goes:
each has its own caches, Management API client, audit engine, change listener and SIGTERM drain. The test
process sends commands ({"do": "list", ...}) and reads answers (lines starting with ANSWER).

Run: `python -m tests.cluster_state.instance` with the app's settings in the environment.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

from admin_core import actions, jobrunner, runtime, shutdown
from admin_core.auth import Identity, Role
from admin_core.domain import User, UserQuery
from admin_core.signals import wait_connected

ANSWER = "@@ "
_out = threading.Lock()


def answer(**fields) -> None:
    with _out:
        sys.stdout.write(ANSWER + json.dumps(fields) + "\n")
        sys.stdout.flush()


def identity(command: dict) -> Identity:
    return Identity(
        sub=command["sub"], email=command["email"], name=None, picture=None,
        expires_at=int(time.time()) + 3600, role=Role.ADMIN,
    )  # fmt: skip


def users(command: dict) -> list[User]:
    return [User(user_id=u["user_id"], email=u.get("email")) for u in command["users"]]


def report(report: actions.ActionReport) -> dict:
    return {"done": [u.user_id for u in report.done], "failed": [[u.user_id, m] for u, m in report.failed]}


def delete(command: dict) -> dict:
    at = command.get("at")
    if at:  # two instances start the same change at the same moment
        time.sleep(max(0.0, at - time.time()))
    return report(actions.delete_users(identity=identity(command), users=users(command)))


def stop_now() -> None:
    """The Shutdown's last step: what Streamlit's own handler does, here the process simply exits."""
    answer(event="stopped")
    os._exit(0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    for line in sys.stdin:
        command = json.loads(line)
        do = command["do"]
        if do == "listen":
            answer(listening=wait_connected(runtime.get_signals(), timeout=10))
        elif do == "list":
            page = runtime.list_users(UserQuery(q=command.get("q"), per_page=100))
            answer(ids=[u.user_id for u in page.users], total=page.total)
        elif do == "delete":
            answer(**delete(command))
        elif do == "delete_in_background":
            threading.Thread(
                target=lambda c=command: answer(event="deleted", **delete(c)), daemon=True
            ).start()
            answer(started=True)
        elif do == "drain_on_sigterm":
            # What runtime.install_shutdown does under `streamlit run`, minus Streamlit: the same Shutdown.
            seconds = runtime.get_settings().shutdown_drain_seconds
            shutdown.install_sigterm(
                shutdown.Shutdown(drain_seconds=seconds, stop=stop_now, notice_seconds=0)
            )
            answer(installed=True)
        elif do == "jobs_watch":
            # What app.py does once per server process: hand over on SIGTERM, take over what others hand over.
            if command.get("sweep_seconds"):  # a test that proves the announcement alone is enough
                jobrunner.SWEEP_SECONDS = float(command["sweep_seconds"])
            answer(watching=jobrunner.watch(), instance=jobrunner.INSTANCE)
        elif do == "job_start":
            job_id = jobrunner.start(
                identity=identity(command), action=command["action"], users=users(command)
            )
            answer(job_id=job_id)
        elif do == "quit":
            answer(bye=True)
            return
        else:
            answer(error=f"unknown command {do}")


if __name__ == "__main__":
    main()
