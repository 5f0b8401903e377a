"""Roles (issue 16) against the dev tenant over real HTTP: the person's roles with descriptions, add and
remove on their page (AppTest) and through the actions, each audited; the viewer refused below the UI;
self-demotion and the last admin refused in words; the Users table's bulk role bar with a partial failure;
the tenant's roles read past Auth0's page of 50; and every new call under the fault matrix."""

from __future__ import annotations

import httpx
import pytest

from admin_core import actions, runtime
from admin_core.auth import IDENTITY_KEY, Role
from admin_core.domain import User
from admin_core.errors import NotAllowed
from admin_core.roles import RoleInfo
from admin_core.support import Unavailable
from tests.app.test_person_page import find, open_person, texts, toasts
from tests.app.test_support_faults import KINDS, assert_sentence
from tests.support.identities import identity_of
from tests.support.markdown import visible

ADMIN_ROLE = "User Admin"  # the dev tenant's, and the app's default ADMIN_ROLE


UNAVAILABLE_503 = "Auth0 is having trouble right now (HTTP 503). Try again in a moment."


def stored_email(tenant, user_id: str) -> str:
    return next(u["email"] for u in tenant.users() if u["user_id"] == user_id)


def staff(tenant, email: str) -> dict:
    return next(u for u in tenant.users() if u["email"] == email)


def person(tenant, user_id: str | None = None) -> User:
    uid = user_id or find(tenant, lambda u: not u.get("blocked"))["user_id"]
    return runtime.get_directory().get_user(uid)


def held(tenant, user_id: str) -> list[str]:
    """The person's role names, as the dev tenant has them (not through the app)."""
    token = tenant.management_token()
    answer = httpx.get(
        f"{tenant.base_url}/api/v2/users/{user_id}/roles",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )
    answer.raise_for_status()
    return [r["name"] for r in answer.json()]


def role(name: str) -> RoleInfo:
    return next(r for r in runtime.role_catalogue().roles if r.name == name)


def set_roles(tenant, user_id: str, names: list[str]) -> None:
    tenant._call("PUT", f"/__dev/users/{user_id}/roles", json={"roles": names})


def rows(env: dict, action: str) -> list:
    from tests.app.test_support_faults import audit_rows

    return audit_rows(env, action)


# --- through the actions ------------------------------------------------------------------------------


def test_the_persons_roles_come_with_their_descriptions(app_env, fresh_tenant):
    admin = staff(fresh_tenant, "admin@example.com")
    file = runtime.person_file(admin["user_id"])
    assert not isinstance(file.roles, Unavailable)
    (only,) = file.roles
    assert only.name == ADMIN_ROLE and only.description == "Can view, block, unblock and delete users"
    assert only.role_id.startswith("rol_")


def test_an_admin_adds_two_roles_audited_and_the_page_reads_auth0_again(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    target = person(fresh_tenant)
    assert runtime.person_file(target.user_id).roles == ()  # cached now
    report = actions.add_roles(
        identity=admin, user=target, roles=[role("Support Agent"), role("User Viewer")]
    )
    assert report.done == [target] and report.failed == []
    assert held(fresh_tenant, target.user_id) == ["Support Agent", "User Viewer"]
    assert [r.name for r in runtime.person_file(target.user_id).roles] == ["Support Agent", "User Viewer"]
    (row,) = rows(app_env, "role_add")
    assert row.state == "ok" and row.target_user_id == target.user_id
    assert row.message == "Added roles Support Agent, User Viewer"


def test_an_admin_removes_a_role_audited(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    target = person(fresh_tenant)
    set_roles(fresh_tenant, target.user_id, ["Support Agent", "User Viewer"])
    report = actions.remove_role(identity=admin, user=target, role=role("Support Agent"))
    assert report.done == [target]
    assert held(fresh_tenant, target.user_id) == ["User Viewer"]
    (row,) = rows(app_env, "role_remove")
    assert row.state == "ok" and row.message == "Removed role Support Agent"


def test_a_viewer_is_refused_below_the_ui_and_nothing_changes(app_env, fresh_tenant):
    target = person(fresh_tenant)
    viewer = identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)
    with pytest.raises(NotAllowed, match="Only admins"):
        actions.add_roles(identity=viewer, user=target, roles=[role(ADMIN_ROLE)])
    with pytest.raises(NotAllowed, match="Only admins"):
        actions.remove_role_from_users(identity=viewer, users=[target], role=role("User Viewer"))
    # a session that still says admin, for someone Auth0 now calls a viewer: Auth0's word wins
    claims_admin = identity_of(fresh_tenant, "viewer@example.com", Role.ADMIN)
    with pytest.raises(NotAllowed, match="no longer an admin"):
        actions.add_roles(identity=claims_admin, user=target, roles=[role(ADMIN_ROLE)])
    assert held(fresh_tenant, target.user_id) == []
    assert fresh_tenant.stats()["requests"].get("POST /api/v2/users/{id}/roles", 0) == 0


def test_an_admin_cannot_remove_the_admin_role_from_themselves(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    me = person(fresh_tenant, admin.sub)
    set_roles(fresh_tenant, staff(fresh_tenant, "staff@example.com")["user_id"], [ADMIN_ROLE])  # not last
    report = actions.remove_role(identity=admin, user=me, role=role(ADMIN_ROLE))
    ((_, message),) = report.failed
    assert message.startswith("You cannot remove the User Admin role from yourself")
    assert held(fresh_tenant, admin.sub) == [ADMIN_ROLE]
    (row,) = rows(app_env, "role_remove")
    assert row.state == "error" and "from yourself" in row.message
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}/roles", 0) == 0


def test_the_last_holder_of_the_admin_role_keeps_it(app_env, fresh_tenant):
    """Admin A's own role was taken elsewhere a moment ago (their standing is still trusted for a minute):
    A may not take it from B, now its only holder: `GET /roles/{id}/users` is asked before the change."""
    admin = identity_of(fresh_tenant, "admin@example.com")
    other = staff(fresh_tenant, "staff@example.com")["user_id"]
    set_roles(fresh_tenant, other, [ADMIN_ROLE])
    runtime.get_directory().actor_standing(admin.sub)  # A checked as admin, cached
    set_roles(fresh_tenant, admin.sub, [])  # then demoted in the Dashboard
    report = actions.remove_role(identity=admin, user=person(fresh_tenant, other), role=role(ADMIN_ROLE))
    ((_, message),) = report.failed
    assert "last holder of the User Admin role" in message and "someone else first" in message
    assert held(fresh_tenant, other) == [ADMIN_ROLE]
    assert fresh_tenant.stats()["requests"].get("GET /api/v2/roles/{role_id}/users", 0) == 1
    (row,) = rows(app_env, "role_remove")
    assert row.state == "error" and "last holder" in row.message


def test_removing_the_admin_role_from_another_admin_when_others_remain(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    other = staff(fresh_tenant, "staff@example.com")["user_id"]
    set_roles(fresh_tenant, other, [ADMIN_ROLE, "Support Agent"])
    report = actions.remove_role(identity=admin, user=person(fresh_tenant, other), role=role(ADMIN_ROLE))
    assert report.failed == []
    assert held(fresh_tenant, other) == ["Support Agent"]


def test_bulk_add_with_a_partial_failure_lists_who_did_not_get_it(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    users = [person(fresh_tenant, u["user_id"]) for u in fresh_tenant.users()[3:6]]
    broken = users[1]
    fresh_tenant.add_fault(method="POST", path=f"/api/v2/users/{broken.user_id}/roles", times=1, status=503)
    report = actions.add_role_to_users(identity=admin, users=users, role=role("Support Agent"))
    assert report.done == [users[0], users[2]]
    ((who, message),) = report.failed
    assert who == broken and "(HTTP 503)" in message
    assert [held(fresh_tenant, u.user_id) for u in users] == [["Support Agent"], [], ["Support Agent"]]
    found = rows(app_env, "bulk_role_add")
    assert sorted(r.state for r in found) == ["error", "ok", "ok"]
    assert {r.target_user_id for r in found} == {u.user_id for u in users}


def test_bulk_remove_of_the_admin_role_leaves_the_admin_their_own(app_env, fresh_tenant):
    admin = identity_of(fresh_tenant, "admin@example.com")
    other = staff(fresh_tenant, "staff@example.com")["user_id"]
    set_roles(fresh_tenant, other, [ADMIN_ROLE])
    users = [person(fresh_tenant, admin.sub), person(fresh_tenant, other)]
    report = actions.remove_role_from_users(identity=admin, users=users, role=role(ADMIN_ROLE))
    assert [u.user_id for u in report.done] == [other]
    ((me, message),) = report.failed
    assert me.user_id == admin.sub and "from yourself" in message
    assert held(fresh_tenant, admin.sub) == [ADMIN_ROLE] and held(fresh_tenant, other) == []


def test_the_tenants_roles_are_read_past_the_first_page_of_50(app_env, fresh_tenant):
    fresh_tenant.add_roles(60)
    found = runtime.role_catalogue()
    assert len(found.roles) == 63 and found.complete
    assert fresh_tenant.stats()["requests"]["GET /api/v2/roles"] == 2
    assert {"User Admin", "User Viewer", "Support Agent", "Extra role 062"} <= {r.name for r in found.roles}
    runtime.role_catalogue()  # shared for a minute: no request
    assert fresh_tenant.stats()["requests"]["GET /api/v2/roles"] == 2


# --- on the person's page (AppTest) --------------------------------------------------------------------


def test_on_the_page_an_admin_adds_a_role_and_removes_it(sign_in, fresh_tenant, app_env):
    target = find(fresh_tenant, lambda u: not u.get("blocked"))
    fresh_tenant.add_roles(60)  # the picker offers roles from the second page too
    at = open_person(sign_in("admin"), target["user_id"])
    assert "No roles" in texts(at)
    picker = at.multiselect(key=f"roles.pick:{target['user_id']}:0")
    assert len(picker.options) == 63
    picker.select(next(o for o in picker.options if o.startswith("Support Agent"))).run()
    at.button(key="roles.add").click().run()
    assert toasts(at) == [f"Added the role Support Agent to {target['email']}"]
    assert held(fresh_tenant, target["user_id"]) == ["Support Agent"]
    assert "Can view users and help them sign in" in texts(at)  # the description, read again from Auth0
    support = role("Support Agent")
    at.button(key=f"roles.remove:{support.role_id}").click().run()
    at.button(key="roles.confirm.ok").click().run()
    assert toasts(at) == [f"Removed the role Support Agent from {target['email']}"]
    assert held(fresh_tenant, target["user_id"]) == []
    assert [r.state for r in rows(app_env, "role_add") + rows(app_env, "role_remove")] == ["ok", "ok"]


def test_on_their_own_page_the_admin_is_told_why_there_is_no_remove(sign_in, fresh_tenant):
    at = sign_in("admin")
    me = at.session_state[IDENTITY_KEY].sub
    at = open_person(at, me)
    assert "You cannot remove the User Admin role from yourself" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("roles.remove:")]


def test_a_viewer_sees_the_roles_and_descriptions_but_no_way_to_change_them(sign_in, fresh_tenant):
    target = find(fresh_tenant, lambda u: not u.get("blocked"))
    set_roles(fresh_tenant, target["user_id"], ["Support Agent"])
    at = open_person(sign_in("viewer"), target["user_id"])
    assert "Can view users and help them sign in" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("roles.")]
    assert not at.multiselect


def test_the_table_adds_a_role_to_the_ticked_rows(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    frame = at.dataframe[0].value
    admin_id = at.session_state[IDENTITY_KEY].sub
    picked = [i for i, uid in enumerate(frame["user_id"]) if uid != admin_id][:3]
    chosen = [frame["user_id"][i] for i in picked]
    at.session_state["users.table"] = {"selection": {"rows": picked, "columns": [], "cells": []}}
    at.run()
    support = role("Support Agent")
    at.selectbox(key="roles.bulk.pick").select(support.role_id).run()
    at.button(key="bulk.role_add").click().run()
    assert toasts(at) == ["Added the role Support Agent to 3 users"]
    assert [held(fresh_tenant, uid) for uid in chosen] == [["Support Agent"]] * 3
    assert len(rows(app_env, "bulk_role_add")) == 3
    fresh_tenant.add_fault(method="DELETE", path=f"/api/v2/users/{chosen[0]}/roles", times=1, status=503)
    at.button(key="bulk.role_remove").click().run()
    assert toasts(at) == ["Removed the role Support Agent from 2 users"]
    shown = [visible(e.value) for e in at.error]
    assert shown == [f"Not changed: {stored_email(fresh_tenant, chosen[0])}. " + UNAVAILABLE_503], shown
    assert [held(fresh_tenant, uid) for uid in chosen] == [["Support Agent"], [], []]


# --- the fault matrix on every new call ------------------------------------------------------------------


# call -> (method, path; {id}: the person, {role}: the admin role's id)
CALLS = {
    "add": ("POST", "/api/v2/users/{id}/roles"),
    "remove": ("DELETE", "/api/v2/users/{id}/roles"),
    "members": ("GET", "/api/v2/roles/{role}/users"),
}


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", list(CALLS))
def test_a_fault_on_a_role_change_is_a_sentence_and_an_error_row(env, fresh_tenant, call, kind):
    admin = identity_of(fresh_tenant, "admin@example.com")
    other = staff(fresh_tenant, "staff@example.com")["user_id"]
    set_roles(fresh_tenant, other, [ADMIN_ROLE])
    target = person(fresh_tenant, other)
    admin_role = role(ADMIN_ROLE)
    runtime.get_directory().actor_standing(admin.sub)  # the actor's check is not the call under test
    fault, expected = KINDS[kind]
    method, path = CALLS[call]
    fresh_tenant.add_fault(
        method=method, path=path.format(id=other, role=admin_role.role_id), times=1, **fault
    )
    if call == "add":
        report = actions.add_roles(identity=admin, user=target, roles=[role("Support Agent")])
        action = "role_add"
    else:  # removing the admin role asks for its members first, then removes
        report = actions.remove_role(identity=admin, user=target, role=admin_role)
        action = "role_remove"
    assert report.done == []
    ((_, message),) = report.failed
    if kind == "malformed" and call != "members":
        expected = "not confirmed"  # a 204 is the confirmation; a 200 with a body is not
    assert_sentence(message, expected)
    (row,) = rows(env, action)
    assert row.state == "error" and message in row.message
    fresh_tenant.clear_faults()
    assert held(fresh_tenant, other) == [ADMIN_ROLE]
    assert not isinstance(runtime.person_file(other).roles, Unavailable)  # the page reads again


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_fault_on_the_tenants_roles_is_a_sentence_then_read_again(env, fresh_tenant, kind):
    from admin_core.errors import AdminError

    fault, expected = KINDS[kind]
    fresh_tenant.add_fault(method="GET", path="/api/v2/roles", times=1, **fault)
    with pytest.raises(AdminError) as caught:
        runtime.role_catalogue()
    assert_sentence(caught.value.message, expected)
    fresh_tenant.clear_faults()
    assert len(runtime.role_catalogue().roles) == 3  # the failure was not kept


def test_a_viewer_with_a_pending_removal_gets_no_dialog_and_changes_nothing(sign_in, fresh_tenant):
    target = find(fresh_tenant, lambda u: not u.get("blocked"))
    set_roles(fresh_tenant, target["user_id"], ["Support Agent"])
    at = sign_in("viewer")
    at.session_state["roles.confirm"] = (target["user_id"], RoleInfo("rol_x", "Support Agent"))
    at = open_person(at, target["user_id"])
    assert not [b for b in at.button if b.key and b.key.startswith("roles.")]
    assert held(fresh_tenant, target["user_id"]) == ["Support Agent"]
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}/roles", 0) == 0
