"""The audit trail the Users page leaves behind (AppTest + dev tenant over real HTTP, real databases)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from admin_core.audit import AuditEvent, AuditStore
from admin_core.auth import IDENTITY_KEY
from admin_core.settings import load_settings
from tests.support.app_env import ROOT, clear_app_caches
from tests.support.markdown import visible
from tests.support.postgres import PostgresServer, postgres_session

STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}
DELETE_REQUESTS = "DELETE /api/v2/users/{id}"


# --- helpers -----------------------------------------------------------------------------------------


def open_store(env: dict[str, str]) -> AuditStore:
    """A store on the database the app writes to (AUDIT_DATABASE_URL, else the SQLite file in DATA_DIR)."""
    return AuditStore(load_settings(env, dotenv_path=None).audit_database_url)


def changes(store: AuditStore) -> list[AuditEvent]:
    """Every delete/block/unblock row, newest first (sign-ins left out)."""
    events: list[AuditEvent] = []
    for action in ("delete", "bulk_delete", "block", "unblock"):
        events += store.query(action=action, per_page=1000).events
    return sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)


def delete_buttons(at: AppTest) -> list[str]:
    return [b.key.split(":", 1)[1] for b in at.button if b.key and b.key.startswith("delete:")]


def tenant_user(tenant, user_id: str) -> dict | None:
    return next((u for u in tenant.users() if u["user_id"] == user_id), None)


def delete_one_through_the_page(at: AppTest, tenant) -> dict:
    """Delete a named user shown on the first page of cards; returns the user as it was before."""
    before = {u["user_id"]: u for u in tenant.users()}
    user = next(
        before[uid] for uid in delete_buttons(at) if before[uid].get("name") and before[uid].get("email")
    )
    at.button(key=f"delete:{user['user_id']}").click().run()
    at.button(key="confirm.delete").click().run()
    assert not at.exception
    return user


def assert_one_completed_delete(store: AuditStore, at: AppTest, user: dict) -> None:
    admin = at.session_state[IDENTITY_KEY]
    (event,) = changes(store)
    assert (event.action, event.state, event.message) == ("delete", "ok", None)
    assert (event.actor_sub, event.actor_email) == (admin.sub, "admin@example.com")
    assert (event.target_user_id, event.target_email, event.target_name) == (
        user["user_id"],
        user["email"],
        user["name"],
    )
    assert event.completed_at is not None and event.completed_at >= event.occurred_at


# --- SQLite (the default store) ----------------------------------------------------------------------


def test_delete_through_the_users_page_writes_one_completed_row(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    user = delete_one_through_the_page(at, fresh_tenant)
    assert [visible(t.value) for t in at.toast] == [f"Deleted {user['email']}"]
    assert tenant_user(fresh_tenant, user["user_id"]) is None
    store = open_store(app_env)
    try:
        assert_one_completed_delete(store, at, user)
    finally:
        store.close()


def test_bulk_delete_of_three_writes_three_bulk_delete_rows(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    admin = at.session_state[IDENTITY_KEY]
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    frame = at.dataframe[0].value
    rows = [i for i, uid in enumerate(frame["user_id"]) if uid != admin.sub][:3]
    before = {u["user_id"]: u for u in fresh_tenant.users()}
    chosen = [before[frame["user_id"][i]] for i in rows]
    at.session_state["users.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    at.button(key="bulk.delete").click().run()
    at.button(key="confirm.delete").click().run()
    assert [t.value for t in at.toast] == ["Deleted 3 users"]

    store = open_store(app_env)
    try:
        events = changes(store)
    finally:
        store.close()
    assert [(e.action, e.state) for e in events] == [("bulk_delete", "ok")] * 3
    assert {(e.actor_sub, e.actor_email) for e in events} == {(admin.sub, "admin@example.com")}
    assert sorted((e.target_user_id, e.target_email, e.target_name) for e in events) == sorted(
        (u["user_id"], u.get("email"), u.get("name")) for u in chosen
    )
    assert len({e.request_id for e in events}) == 3


def test_an_auth0_failure_records_the_error_the_admin_saw(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    before = {u["user_id"]: u for u in fresh_tenant.users()}
    target = next(uid for uid in delete_buttons(at) if before[uid].get("email"))
    at.button(key=f"delete:{target}").click().run()
    fresh_tenant.add_fault(method="DELETE", path="/api/v2/users/", status=500, times=3)
    try:
        at.button(key="confirm.delete").click().run()
    finally:
        fresh_tenant.clear_faults()
    assert not at.exception and not at.toast
    (shown,) = [e.value for e in at.error]
    assert tenant_user(fresh_tenant, target) is not None

    store = open_store(app_env)
    try:
        (event,) = changes(store)
    finally:
        store.close()
    assert (event.action, event.state, event.target_user_id) == ("delete", "error", target)
    assert event.message and "HTTP 500" in event.message
    assert shown.endswith(event.message), (shown, event.message)  # the same words, word for word
    assert event.completed_at is not None


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time

    import httpx

    from admin_core import actions, runtime
    from admin_core.auth import Identity, Role

    admin_sub, target_id = sys.argv[1], sys.argv[2]
    send = httpx.Client.send

    def die_before_deleting(self, request, *args, **kwargs):
        if request.method == "DELETE":
            # The audit row is written; Auth0 has not been asked yet. Die as a crash would.
            print("dying", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return send(self, request, *args, **kwargs)

    httpx.Client.send = die_before_deleting

    identity = Identity(sub=admin_sub, email="admin@example.com", name="Ada Admin", picture=None,
                        expires_at=int(time.time()) + 3600, role=Role.ADMIN)
    user = runtime.get_directory().get_user(target_id)
    actions.delete_users(identity=identity, users=[user])
    print("survived", flush=True)
    """
)


def test_a_crash_between_attempted_and_auth0_leaves_the_attempted_row(fresh_tenant, app_env, tmp_path):
    staff = {u["email"]: u for u in fresh_tenant.users() if u.get("email") in STAFF}
    admin_sub = staff["admin@example.com"]["user_id"]
    target = next(u for u in fresh_tenant.users() if u.get("email") not in STAFF and u.get("name"))
    env = {**os.environ, **app_env, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(  # noqa: S603 - our own script, run with this interpreter
        [sys.executable, "-c", CRASH_SCRIPT, admin_sub, target["user_id"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stdout, result.stderr)
    assert "dying" in result.stdout and "survived" not in result.stdout

    store = open_store(app_env)
    try:
        (event,) = changes(store)
    finally:
        store.close()
    assert (event.action, event.state, event.completed_at, event.message) == (
        "delete",
        "attempted",
        None,
        None,
    )
    assert (event.actor_sub, event.actor_email) == (admin_sub, "admin@example.com")
    assert (event.target_user_id, event.target_email, event.target_name) == (
        target["user_id"],
        target.get("email"),
        target["name"],
    )
    assert tenant_user(fresh_tenant, target["user_id"]) is not None
    assert fresh_tenant.stats()["requests"].get(DELETE_REQUESTS, 0) == 0


# --- the audit log fails closed ---------------------------------------------------------------------


def break_the_audit_table(env: dict) -> None:
    """Drop the table the app writes to, behind its back (a database that lost it, or refuses writes)."""
    engine = sa.create_engine(load_settings(env, dotenv_path=None).audit_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE audit_events"))
    finally:
        engine.dispose()


def test_when_the_audit_log_cannot_be_written_no_delete_or_block_reaches_auth0(
    sign_in, fresh_tenant, app_env
):
    at = sign_in("admin")
    before = {u["user_id"]: u for u in fresh_tenant.users()}
    target = next(before[uid] for uid in delete_buttons(at) if not before[uid].get("blocked"))
    break_the_audit_table(app_env)

    at.button(key=f"delete:{target['user_id']}").click().run()
    at.button(key="confirm.delete").click().run()
    assert not at.exception and not at.toast
    (deleted,) = [visible(e.value) for e in at.error]
    at.button(key=f"block:{target['user_id']}").click().run()
    assert not at.exception and not at.toast
    (blocked,) = [visible(e.value) for e in at.error]

    requests = fresh_tenant.stats()["requests"]
    assert (requests.get(DELETE_REQUESTS, 0), requests.get("PATCH /api/v2/users/{id}", 0)) == (0, 0)
    assert not tenant_user(fresh_tenant, target["user_id"]).get("blocked")
    assert deleted.startswith("Not deleted: ") and blocked.startswith("Not blocked: ")
    for shown in (deleted, blocked):
        assert "Not done: the audit log could not be written" in shown, shown


# --- PostgreSQL --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server (skipped locally without one, a failure when $CI is set)."""
    yield from postgres_session()


@pytest.fixture
def postgres_env(app_env, postgres_server: PostgresServer, monkeypatch) -> Iterator[dict[str, str]]:
    """The app's settings with AUDIT_DATABASE_URL on a fresh PostgreSQL database."""
    url = postgres_server.create_database()
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    clear_app_caches()
    try:
        yield {**app_env, "AUDIT_DATABASE_URL": url}
    finally:
        clear_app_caches()  # drops the app's engine before its database goes
        postgres_server.drop_database(sa.make_url(url).database or "")


@pytest.mark.postgres
def test_delete_through_the_users_page_writes_one_completed_row_on_postgres(
    sign_in, fresh_tenant, postgres_env
):
    at = sign_in("admin")
    user = delete_one_through_the_page(at, fresh_tenant)
    assert [visible(t.value) for t in at.toast] == [f"Deleted {user['email']}"]
    store = open_store(postgres_env)
    try:
        assert store.engine.dialect.name == "postgresql"
        assert_one_completed_delete(store, at, user)
        assert [e.action for e in store.query(action="sign_in").events] == ["sign_in"]
    finally:
        store.close()
    sqlite_file = load_settings({**postgres_env, "AUDIT_DATABASE_URL": ""}, dotenv_path=None).data_dir
    assert not (sqlite_file / "audit.sqlite3").exists()  # nothing went to the default file


def test_an_unexpected_failure_is_audited_in_words_and_logged_never_as_a_class_name(app_env, caplog):
    """Admins read audit messages on the Audit page: an exception's class name means nothing to them."""
    import time

    from admin_core import actions
    from admin_core.auth import Identity, Role
    from admin_core.domain import User

    admin = Identity(
        sub="auth0|admin", email="admin@example.com", name=None, picture=None,
        expires_at=int(time.time()) + 600, role=Role.ADMIN,
    )  # fmt: skip
    victim = User(user_id="auth0|victim", email="victim@example.com")

    def change():
        raise KeyError("identities")

    with pytest.raises(KeyError):
        actions._run(admin, "delete", victim, change)
    store = open_store(app_env)
    (row,) = changes(store)
    store.close()
    assert (row.state, row.message) == (
        "error",
        "Failed with an unexpected error in the app; the server log has the details.",
    )
    assert "KeyError" in caplog.text and "auth0|victim" in caplog.text
