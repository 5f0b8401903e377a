"""SIGTERM: the running change finishes, what did not start is recorded as not done, and only a change cut
by the deadline stays "attempted"; under `streamlit run` the health check fails first."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from admin_core.shutdown import NOT_STARTED, UNHEALTHY
from tests.cluster_state.helpers import audit_rows
from tests.cluster_state.test_cross_instance import staff
from tests.support import app_server
from tests.support.app_env import app_environment
from tests.support.app_server import AppServer
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.postgres


def three_people(tenant: DevTenant) -> list[dict]:
    return [u for u in tenant.users() if not u["email"].endswith("@example.com")][:3]


def wait_for_attempted(url: str, user_id: str, action: str = "bulk_delete", timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r.target_user_id == user_id and r.state == "attempted" for r in audit_rows(url, action)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no attempted row for {user_id} within {timeout} s")


def test_sigterm_lets_the_running_delete_finish_and_records_the_rest_as_not_started(
    fresh_tenant, start_instance, audit_url
):
    people = three_people(fresh_tenant)
    first = people[0]["user_id"]
    fresh_tenant.add_fault(method="DELETE", path=f"/api/v2/users/{first}", delay_ms=1500)
    app = start_instance("a", SHUTDOWN_DRAIN_SECONDS="15")
    app.ask("drain_on_sigterm")
    app.ask("delete_in_background", users=people, **staff(fresh_tenant, "admin@example.com"))
    wait_for_attempted(audit_url, first)  # Auth0 is answering the first delete now
    app.terminate()
    assert app.wait(20) == 0

    rows = {r.target_user_id: r for r in audit_rows(audit_url, "bulk_delete")}
    assert rows[first].state == "ok"
    for person in people[1:]:
        assert (rows[person["user_id"]].state, rows[person["user_id"]].message) == ("error", NOT_STARTED)
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 1
    remaining = {u["user_id"] for u in fresh_tenant.users()}
    assert first not in remaining and {p["user_id"] for p in people[1:]} <= remaining


def test_a_change_still_running_at_the_drain_deadline_stays_attempted(
    fresh_tenant, start_instance, audit_url
):
    people = three_people(fresh_tenant)[:1]
    first = people[0]["user_id"]
    fresh_tenant.add_fault(method="DELETE", path=f"/api/v2/users/{first}", delay_ms=4000)
    app = start_instance("a", SHUTDOWN_DRAIN_SECONDS="0.5")
    app.ask("drain_on_sigterm")
    app.ask("delete_in_background", users=people, **staff(fresh_tenant, "admin@example.com"))
    wait_for_attempted(audit_url, first, "delete")
    app.terminate()
    assert app.wait(3) == 0  # the deadline, not Auth0's answer four seconds later
    (row,) = audit_rows(audit_url, "delete")
    assert row.state == "attempted" and row.completed_at is None


class ClusterAppServer(AppServer):
    """`streamlit run app.py` with extra settings (the shared audit database, the drain)."""

    def __init__(self, tenant: DevTenant, workdir, name: str, settings: dict[str, str], monkeypatch) -> None:
        def with_settings(base_url, tmp_path, **overrides):
            return app_environment(base_url, tmp_path, **{**overrides, **settings})

        monkeypatch.setattr(app_server, "app_environment", with_settings)
        super().__init__(tenant, workdir, name)


def test_under_streamlit_run_sigterm_fails_the_health_check_then_stops(
    fresh_tenant, audit_url, tmp_path, monkeypatch
):
    settings = {
        "AUDIT_DATABASE_URL": audit_url,
        # Runs app.py once without a browser (Streamlit's own script check); app.py installs the handler.
        "STREAMLIT_SERVER_SCRIPT_HEALTH_CHECK_ENABLED": "true",
    }
    server = ClusterAppServer(fresh_tenant, tmp_path, "drain", settings, monkeypatch)
    try:
        health = server.url("/_stcore/health", host="127.0.0.1")
        script = httpx.get(server.url("/_stcore/script-health-check", host="127.0.0.1"), timeout=30)
        assert script.status_code == 200, script.text
        time.sleep(0.3)  # the handler is installed by a callback on Streamlit's event loop
        assert httpx.get(health).status_code == 200
        server.proc.send_signal(signal.SIGTERM)
        answers = []
        deadline = time.monotonic() + 20
        while server.proc.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(health, timeout=1)
                answers.append((answer.status_code, answer.text))
            except httpx.HTTPError:
                answers.append((0, "closed"))
            time.sleep(0.02)
        assert (503, UNHEALTHY) in answers, answers[:5]
        failing = answers.index((503, UNHEALTHY))
        assert all(code != 200 for code, _ in answers[failing:]), answers
        assert server.proc.wait(10) == 0, server.output()
    finally:
        server.stop()
