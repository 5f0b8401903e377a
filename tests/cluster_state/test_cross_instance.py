"""Two app instances on one PostgreSQL audit database behave as one app: a change on A clears B's caches
within a second, and two admins changing the same person at once send Auth0 one request."""

from __future__ import annotations

import time

import pytest

from tests.cluster_state.helpers import audit_rows, claims_left
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.postgres


def victim(tenant: DevTenant) -> dict:
    return next(u for u in tenant.users() if not u["email"].endswith("@example.com"))


def staff(tenant: DevTenant, email: str) -> dict:
    user = next(u for u in tenant.users() if u["email"] == email)
    return {"sub": user["user_id"], "email": user["email"]}


def user_list_requests(tenant: DevTenant) -> int:
    return tenant.stats()["requests"].get("GET /api/v2/users", 0)


def test_a_delete_on_one_instance_is_gone_from_the_others_warm_listing_within_a_second(
    fresh_tenant, start_instance
):
    a, b = start_instance("a"), start_instance("b")
    assert a.ask("listen")["listening"] and b.ask("listen")["listening"]
    person = victim(fresh_tenant)
    search = f'email:"{person["email"]}"'
    assert b.ask("list", q=search)["ids"] == [person["user_id"]]
    before = user_list_requests(fresh_tenant)
    assert b.ask("list", q=search)["ids"] == [person["user_id"]]
    assert user_list_requests(fresh_tenant) == before  # B's listing is warm: it would show the person 30 s

    result = a.ask("delete", users=[person], **staff(fresh_tenant, "admin@example.com"))
    assert result["done"] == [person["user_id"]], result
    deleted_at = time.monotonic()
    while (ids := b.ask("list", q=search)["ids"]) and time.monotonic() - deleted_at < 1.0:
        time.sleep(0.02)
    assert ids == [], f"B still lists the person {time.monotonic() - deleted_at:.2f} s after A deleted them"
    assert user_list_requests(fresh_tenant) > before  # B asked Auth0 again: its cache was cleared


def test_two_admins_on_two_instances_deleting_one_person_send_one_delete(
    fresh_tenant, start_instance, audit_url
):
    viewer = staff(fresh_tenant, "viewer@example.com")
    fresh_tenant._call("PUT", f"/__dev/users/{viewer['sub']}/roles", json={"roles": ["User Admin"]})
    a, b = start_instance("a"), start_instance("b")
    person = victim(fresh_tenant)
    # Auth0 takes a moment over the delete, so the two presses overlap for certain.
    fresh_tenant.add_fault(method="DELETE", path=f"/api/v2/users/{person['user_id']}", delay_ms=800, times=2)
    at = time.time() + 1.5  # both instances press Delete at this moment
    a.ask("delete_in_background", users=[person], at=at, **staff(fresh_tenant, "admin@example.com"))
    b.ask("delete_in_background", users=[person], at=at, **viewer)
    reports = [a.event(), b.event()]

    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 1
    assert sorted(len(r["done"]) for r in reports) == [0, 1], reports
    rows = audit_rows(audit_url)
    assert sorted(r.state for r in rows) == ["error", "ok"], rows
    done = next(r for r in rows if r.state == "ok")
    refused = next(r for r in rows if r.state == "error")
    other = {"admin@example.com": viewer["email"], viewer["email"]: "admin@example.com"}[done.actor_email]
    assert refused.actor_email == other
    assert f"already being deleted by {done.actor_email}" in refused.message, refused.message
    failed = next(r for r in reports if r["failed"])["failed"][0][1]
    assert failed == refused.message  # the second admin reads who is deleting the person
    assert claims_left(audit_url) == 0
