"""The whole-tenant export on the Users page: Auth0's export job, run on the server, against the dev tenant."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time

import pytest

from admin_core import runtime
from admin_core.audit import AuditStore

WAIT_SECONDS = 30


def finish(at, *, timeout: float = WAIT_SECONDS):
    """Rerun the page (as the progress fragment does every second) until the export has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if any(b.key in ("export.done", "export.again") for b in at.button):
            return at
        time.sleep(0.2)
    raise AssertionError("the export did not end: " + repr([m.value for m in at.markdown][-5:]))


def errors(at) -> list[str]:
    """The error boxes as read (Markdown escapes and the word joiners after `:` taken out)."""
    return [e.value.replace("\u2060", "").replace("\\", "") for e in at.error]


def exported_file(at) -> bytes:
    run_id = at.session_state["export.run_id"]
    return runtime.get_exports().read(run_id)


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))


def test_export_all_gives_every_user_of_the_tenant_with_the_tables_columns(sign_in, fresh_tenant):
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    assert not at.exception
    # the page is drawn while Auth0 works: the listing, and the export's progress instead of its buttons
    assert any(b.key == "export.cancel" for b in at.button) or any(b.key == "export.done" for b in at.button)
    assert not any(b.key == "export.all" for b in at.button)
    finish(at)
    assert any("Ready: 153 users" in s.value for s in at.success), [s.value for s in at.success]
    rows = csv_rows(exported_file(at))
    users = {u["user_id"]: u for u in fresh_tenant.users()}
    assert len(rows) == len(users) == 153
    assert {r["user_id"] for r in rows} == set(users)
    assert list(rows[0]) == [
        "name", "email", "verified", "connection", "last_login", "logins", "created", "blocked", "user_id"
    ]  # fmt: skip
    for row in rows:
        user = users[row["user_id"]]
        assert row["email"] == (user.get("email") or "")
        assert row["connection"] == user["identities"][0]["connection"]
        assert row["logins"] == str(user.get("logins_count", ""))


def test_export_of_one_connection_as_json_holds_exactly_its_users(sign_in, fresh_tenant):
    at = sign_in("viewer")  # viewers may export: it reads, it changes nothing
    at.selectbox(key="users.connection").select("github").run()
    at.segmented_control(key="export.format").set_value("json").run()
    at.button(key="export.connection").click().run()
    finish(at)
    lines = gzip.decompress(exported_file(at)).decode().splitlines()
    exported = [json.loads(line) for line in lines]
    expected = {
        u["user_id"]
        for u in fresh_tenant.users()
        if any(i["connection"] == "github" for i in u.get("identities", []))
    }
    assert expected and {e["user_id"] for e in exported} == expected
    assert at.session_state["export.run_id"]
    assert any("the users of github (JSON)" in s.value for s in at.success)


def test_spreadsheet_formulas_in_names_are_defused(sign_in, fresh_tenant):
    fresh_tenant.create_user(email="formula@example.org", name='=HYPERLINK("https://evil.example","x")')
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    finish(at)
    row = next(r for r in csv_rows(exported_file(at)) if r["email"] == "formula@example.org")
    assert row["name"] == '\'=HYPERLINK("https://evil.example","x")'


def test_the_export_is_audited_without_its_link(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    finish(at)
    events = AuditStore(runtime.get_settings().audit_database_url).query(per_page=50).events
    export = [e for e in events if e.action == "export_users"]
    assert len(export) == 1 and export[0].state == "ok"
    assert export[0].actor_email == "admin@example.com"
    assert export[0].message == "Exported every user (CSV): 153 users."
    assert "Signature" not in (export[0].message or "") and "user-exports" not in (export[0].message or "")


def test_done_deletes_the_file_and_offers_a_new_export(sign_in, fresh_tenant):
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    finish(at)
    run = runtime.get_exports().get(at.session_state["export.run_id"])
    path = run.path
    assert path is not None and path.exists()
    at.button(key="export.done").click().run()
    assert not path.exists()
    assert any(b.key == "export.all" for b in at.button)


def test_cancel_stops_the_export_and_keeps_no_file(sign_in, fresh_tenant):
    fresh_tenant.set_exports(users_per_second=10)  # 15 s at Auth0: long enough to cancel
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    at.button(key="export.cancel").click().run()
    finish(at)
    assert any("Export cancelled." in i.value for i in at.info)
    run = runtime.get_exports().get(at.session_state["export.run_id"])
    assert run.phase == "cancelled" and run.path is None
    assert not list(runtime.get_exports().directory.iterdir())


def test_progress_is_shown_while_auth0_prepares_the_file(sign_in, fresh_tenant):
    fresh_tenant.set_exports(users_per_second=20)  # about 8 s
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    seen = set()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and not any(b.key == "export.done" for b in at.button):
        seen |= {p.proto.text for p in at.get("progress")}
        time.sleep(0.3)
        at.run()
    assert any("Auth0 is preparing the file of every user (CSV):" in t and "left" in t for t in seen), seen


FAULTS = {
    "POST 500": (
        {"method": "POST", "path": "/api/v2/jobs/users-exports", "status": 500},
        "having trouble right now (HTTP 500)",
    ),
    "POST 429": (
        {
            "method": "POST",
            "path": "/api/v2/jobs/users-exports",
            "status": 429,
            "headers": {},
        },
        "rate limit",
    ),
    "POST 403": (
        {
            "method": "POST",
            "path": "/api/v2/jobs/users-exports",
            "status": 403,
            "body": {
                "statusCode": 403,
                "error": "Forbidden",
                "message": "Insufficient scope, expected any of: read:users",
                "errorCode": "insufficient_scope",
            },
        },
        "It needs the scope read:\u2060users",
    ),
    "polls keep failing": (
        {"method": "GET", "path": "/api/v2/jobs/", "status": 503, "times": 20},
        "Auth0 stopped answering about the export",
    ),
    "download 503": (
        {"method": "GET", "path": "/user-exports/", "status": 503, "times": 5},
        "having trouble (HTTP 503)",
    ),
    "download dropped": (
        {"method": "GET", "path": "/user-exports/", "drop": True, "times": 5},
        "could not be fetched",
    ),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_a_failing_export_says_why_and_the_page_stays_usable(sign_in, fresh_tenant, kind, monkeypatch):
    monkeypatch.setattr("admin_core.exports.POLL_MIN_SECONDS", 0.1)
    monkeypatch.setattr("admin_core.exports.POLL_MAX_SECONDS", 0.2)
    fault, expected = FAULTS[kind]
    if "headers" in fault:  # a reset a second away: the rate gate waits for it before the next request
        fault = {**fault, "headers": {"x-ratelimit-reset": str(int(time.time()) + 1)}}
    at = sign_in("admin")
    fresh_tenant.add_fault(**{"times": 1, **fault})
    at.button(key="export.all").click().run()
    finish(at)
    assert not at.exception
    messages = [e.value for e in at.error]
    assert len(messages) == 1 and expected in messages[0], messages
    assert "Traceback" not in messages[0] and "Error" not in messages[0].split()[0]
    assert any(b.key == "page.next" for b in at.button)  # the listing is still there
    fresh_tenant.clear_faults()
    at.button(key="export.again").click().run()
    at.button(key="export.all").click().run()
    finish(at)
    assert not at.error and any("Ready: 153 users" in s.value for s in at.success)


def test_a_poll_answered_429_once_is_waited_out(sign_in, fresh_tenant, monkeypatch):
    monkeypatch.setattr("admin_core.exports.POLL_MIN_SECONDS", 0.1)
    at = sign_in("admin")
    fresh_tenant.add_fault(method="GET", path="/api/v2/jobs/", status=429, times=2)
    at.button(key="export.all").click().run()
    finish(at)
    assert not at.error and any("Ready: 153 users" in s.value for s in at.success)


def test_a_job_auth0_could_not_finish_says_so(sign_in, fresh_tenant):
    fresh_tenant.set_exports(fail_next="the export storage is full")
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    finish(at)
    assert errors(at) == [
        "Auth0 could not finish the export (Auth0 said: the export storage is full). Try again in a while."
    ]


def test_an_expired_link_is_asked_for_again_then_explained(sign_in, fresh_tenant):
    fresh_tenant.set_exports(link_ttl_seconds=0)  # every link Auth0 signs has already expired
    at = sign_in("admin")
    at.button(key="export.all").click().run()
    finish(at)
    assert errors(at) == ["Auth0's link to the export file expired before it could be fetched. Try again."]
    assert fresh_tenant.stats()["requests"].get("GET /user-exports/{job}/{file}") == 2
