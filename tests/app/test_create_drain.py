"""A shutdown (SIGTERM, admin_core.shutdown) waits for a new person's creation that is talking to Auth0,
and refuses, in words and in the audit log, one asked for after it began.

Real HTTP against the dev tenant (its fault injection holds the POST); the real SQLite audit log. The
process's drain is replaced by a fresh one for the test, so the rest of the suite is not shutting down.
"""

from __future__ import annotations

import threading
import time

import pytest

from admin_core import actions, shutdown
from admin_core.auth import Role
from admin_core.errors import NotAllowed
from tests.app.test_new_users import DB, by_email, rows
from tests.support.identities import identity_of


@pytest.fixture
def drain(monkeypatch) -> shutdown.Drain:
    fresh = shutdown.Drain()
    monkeypatch.setattr(shutdown, "DRAIN", fresh)
    return fresh


def wait_for_post(tenant, before: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while tenant.stats()["requests"].get("POST /api/v2/users", 0) <= before:
        if time.monotonic() > deadline:
            raise AssertionError("the create never reached the dev tenant")
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["create", "invite"])
def test_a_shutdown_waits_for_the_creation_talking_to_auth0_then_refuses_the_next(
    app_env, fresh_tenant, drain, how
):
    admin = identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)
    email = f"drained.{how}@example.org"
    action = "create_user" if how == "create" else "invite_user"

    def create(address: str):
        if how == "create":
            return actions.create_user(
                identity=admin, connection=DB, email=address, name="Drained", password="Abcdefg1!"
            )
        return actions.invite_user(identity=admin, connection=DB, email=address, name="Drained")

    fresh_tenant.add_fault(method="POST", path="/api/v2/users", delay_ms=1500, times=1)
    before = fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(create(email)), daemon=True)
    worker.start()
    wait_for_post(fresh_tenant, before)  # Auth0 is holding the creation now

    assert drain.drain(15) is True  # idle before the deadline: it waited for the creation
    # What the drain waits for: Auth0's answer and the audit row's outcome, both there when it says idle
    # (the caller's own bookkeeping after that, e.g. clearing the listing cache, may still be running).
    (row,) = rows(app_env, action)
    assert row.state == "ok" and row.target_email == email
    assert by_email(fresh_tenant, email) is not None
    worker.join(10)
    assert not worker.is_alive() and len(outcome) == 1

    with pytest.raises(NotAllowed) as refused:
        create("after.the.drain@example.org")
    assert refused.value.message == shutdown.NOT_STARTED
    assert by_email(fresh_tenant, "after.the.drain@example.org") is None
    refusal = [r for r in rows(app_env, action) if r.target_email == "after.the.drain@example.org"]
    assert [(r.state, r.message) for r in refusal] == [("error", shutdown.NOT_STARTED)]
