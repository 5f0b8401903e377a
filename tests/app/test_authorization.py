"""Authorization at the moment of a change, dialogs that check who presses, and each guard layer alone.

AppTest pages and the Directory against the dev tenant over real HTTP. The dev tenant demotes or blocks
the signed-in admin through its loopback control API (`PUT /__dev/users/{id}/roles|blocked`), which no
Management API counter sees. Times are test data: last activity is set in the past, and the standing
cache is read through an injected clock; nothing sleeps. The session limits themselves are tested in
tests/reliability/test_session.py, the audit log failing closed in tests/app/test_audit_trail.py.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from admin_core import actions
from admin_core.auth import IDENTITY_KEY, LAST_SEEN_KEY, Identity, Role
from admin_core.auth0.users import Directory
from admin_core.domain import Standing, User
from admin_core.errors import NotAllowed
from admin_core.settings import load_settings
from tests.app.test_audit_trail import changes, open_store
from tests.support.browserless import FakePopup
from tests.support.fragments import fragment_ids
from tests.support.markdown import visible

STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}
DELETES = "DELETE /api/v2/users/{id}"
PATCHES = "PATCH /api/v2/users/{id}"
USER_GETS = "GET /api/v2/users/{id}"
ROLE_GETS = "GET /api/v2/users/{id}/roles"
SIGN_IN_TITLE = ["Auth0 User Admin"]

pytestmark = pytest.mark.case("8 authorization")


# --- helpers -----------------------------------------------------------------------------------------


def requests(tenant, route: str) -> int:
    return tenant.stats()["requests"].get(route, 0)


def staff(tenant, email: str) -> dict:
    return next(u for u in tenant.users() if u.get("email") == email)


def set_roles(tenant, user_id: str, roles: list[str]) -> None:
    tenant._call("PUT", f"/__dev/users/{user_id}/roles", json={"roles": roles})


def set_blocked(tenant, user_id: str, blocked: bool) -> None:
    tenant._call("PUT", f"/__dev/users/{user_id}/blocked", json={"blocked": blocked})


def a_target(tenant) -> dict:
    """A user on the first page of cards who is not staff, not blocked, with an email and a name."""
    return next(
        u
        for u in sorted(tenant.users(), key=lambda u: u.get("last_login", ""), reverse=True)
        if u.get("email") not in STAFF and not u.get("blocked") and u.get("name")
    )


def first_card_target(at: AppTest, tenant) -> dict:
    everyone = {u["user_id"]: u for u in tenant.users()}
    ids = [b.key.split(":", 1)[1] for b in at.button if b.key and b.key.startswith("block:")]
    return next(everyone[i] for i in ids if not everyone[i].get("blocked") and everyone[i].get("email"))


def infos(at: AppTest) -> list[str]:
    return [visible(i.value) for i in at.info if not i.value.startswith("Local dev tenant")]


def change_rows(env: dict) -> list:
    store = open_store(env)
    try:
        return changes(store)
    finally:
        store.close()


def press(at: AppTest, monkeypatch, button_id: str, *, in_dialog: bool = False) -> AppTest:
    """Send what the browser sends when a button is pressed, by the button's widget id (AppTest drops the
    elements before an open dialog from its tree, the header's Log out among them).

    `in_dialog`: the press is inside the open dialog, so the server reruns that dialog only, with its stored
    code and arguments (Streamlit keeps them after a run that ended in st.stop(), such as the sign-in
    screen; see FACTS.md). AppTest has no such rerun of its own; this runs its script runner with the
    dialog's fragment id, as the server does on the browser's message.
    """
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    pressed = states.widgets.add()
    pressed.id = button_id
    pressed.trigger_value = True
    if not in_dialog:
        return at._run(widget_state=states)
    (fragment_id,) = fragment_ids(at)  # the dialog (the Users page's listing is a named fragment too)

    class DialogRerun(LocalScriptRunner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # The base queues a full run on construction, which would absorb the dialog's rerun.
            self._requests = ScriptRequests()

        def request_rerun(self, rerun_data):
            return super().request_rerun(dataclasses.replace(rerun_data, fragment_id=fragment_id))

    with monkeypatch.context() as patch:
        patch.setattr(app_test_module, "LocalScriptRunner", DialogRerun)
        return at._run(widget_state=states)


# --- the role and the blocked flag are read again before a change -------------------------------------


def test_a_demoted_admin_is_refused_in_words_and_nothing_is_deleted(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    admin = staff(fresh_tenant, "admin@example.com")
    target = first_card_target(at, fresh_tenant)
    at.button(key=f"delete:{target['user_id']}").click().run()
    set_roles(fresh_tenant, admin["user_id"], ["User Viewer"])  # demoted in Auth0 meanwhile
    at.button(key="confirm.delete").click().run()

    assert not at.exception and not at.toast
    assert [visible(e.value) for e in at.error] == [
        "Nothing was changed: you are no longer an admin in Auth0."
    ]
    assert requests(fresh_tenant, DELETES) == 0
    assert any(u["user_id"] == target["user_id"] for u in fresh_tenant.users())
    assert at.session_state[IDENTITY_KEY].role is Role.VIEWER  # the page now offers what a viewer may do
    assert not [b for b in at.button if b.key and b.key.startswith(("delete:", "block:"))]
    (row,) = change_rows(app_env)
    assert (row.action, row.state, row.target_user_id, row.actor_sub, row.message) == (
        "delete",
        "error",
        target["user_id"],
        admin["user_id"],
        "Nothing was changed: you are no longer an admin in Auth0.",
    )


def test_a_blocked_admin_is_signed_out_and_nothing_is_blocked(sign_in, fresh_tenant, app_env, monkeypatch):
    at = sign_in("admin")
    admin = staff(fresh_tenant, "admin@example.com")
    target = first_card_target(at, fresh_tenant)
    set_blocked(fresh_tenant, admin["user_id"], True)  # blocked in Auth0 meanwhile
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    at.button(key=f"block:{target['user_id']}").click().run()

    assert not at.exception
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == SIGN_IN_TITLE
    assert infos(at) == [
        "Your account is blocked in Auth0, so you have been signed out and nothing was changed."
    ]
    assert requests(fresh_tenant, PATCHES) == 0
    assert not next(u for u in fresh_tenant.users() if u["user_id"] == target["user_id"]).get("blocked")
    (row,) = change_rows(app_env)
    assert (row.action, row.state, row.target_user_id, row.message) == (
        "block",
        "error",
        target["user_id"],
        "Your account is blocked in Auth0, so you have been signed out and nothing was changed.",
    )


def test_when_auth0_cannot_confirm_the_role_nothing_is_changed(sign_in, fresh_tenant, app_env):
    at = sign_in("admin")
    target = first_card_target(at, fresh_tenant)
    at.button(key=f"delete:{target['user_id']}").click().run()
    fresh_tenant.add_fault(method="GET", path="/api/v2/users/", status=503, times=1)
    at.button(key="confirm.delete").click().run()

    assert not at.exception and not at.toast
    assert [visible(e.value) for e in at.error] == [
        "Nothing was changed: your admin role could not be checked with Auth0. Auth0 is having trouble "
        "right now (HTTP 503). Try again in a moment."
    ]
    assert requests(fresh_tenant, DELETES) == 0
    assert at.session_state[IDENTITY_KEY].role is Role.ADMIN
    assert change_rows(app_env) == []


def test_the_first_change_costs_two_lookups_then_none_for_60_seconds(sign_in, fresh_tenant):
    at = sign_in("admin")
    before = (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS))
    for _ in range(2):
        target = first_card_target(at, fresh_tenant)
        at.button(key=f"block:{target['user_id']}").click().run()
        assert [visible(t.value) for t in at.toast] == [f"Blocked {target['email']}"]
    after = (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
    assert requests(fresh_tenant, PATCHES) == 2


def test_the_standing_is_kept_60_seconds_per_person_then_asked_again(app_env, fresh_tenant):
    now = [1000.0]
    directory = Directory.from_settings(load_settings(app_env, dotenv_path=None), clock=lambda: now[0])
    admin = staff(fresh_tenant, "admin@example.com")
    viewer = staff(fresh_tenant, "viewer@example.com")

    assert directory.actor_standing(admin["user_id"]) == Standing(blocked=False, role_names=("User Admin",))
    assert (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS)) == (1, 1)
    set_roles(fresh_tenant, admin["user_id"], ["User Viewer"])
    set_blocked(fresh_tenant, admin["user_id"], True)
    now[0] = 1059.9
    assert directory.actor_standing(admin["user_id"]) == Standing(blocked=False, role_names=("User Admin",))
    assert (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS)) == (1, 1)
    assert directory.actor_standing(viewer["user_id"]) == Standing(blocked=False, role_names=("User Viewer",))
    assert (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS)) == (2, 2)
    now[0] = 1060.0
    assert directory.actor_standing(admin["user_id"]) == Standing(blocked=True, role_names=("User Viewer",))
    assert (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS)) == (3, 3)
    directory.forget_standing(admin["user_id"])  # what a block or delete made here does
    assert directory.actor_standing(admin["user_id"]) == Standing(blocked=True, role_names=("User Viewer",))
    assert (requests(fresh_tenant, USER_GETS), requests(fresh_tenant, ROLE_GETS)) == (4, 4)


# --- dialogs check the identity of the moment the button is pressed ----------------------------------


def test_after_logout_a_rerun_of_the_open_delete_dialog_deletes_nothing(sign_in, fresh_tenant, monkeypatch):
    at = sign_in("admin")
    log_out = at.button(key="header.logout").id
    target = first_card_target(at, fresh_tenant)
    at.button(key=f"delete:{target['user_id']}").click().run()
    delete_button = at.button(key="confirm.delete").id
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    press(at, monkeypatch, log_out)  # the real sign_out, as the Log out button calls it
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == SIGN_IN_TITLE

    press(at, monkeypatch, delete_button, in_dialog=True)
    assert not at.exception
    assert requests(fresh_tenant, DELETES) == 0
    assert any(u["user_id"] == target["user_id"] for u in fresh_tenant.users())
    assert [t.value for t in at.title] == SIGN_IN_TITLE


def test_an_idle_session_pressing_delete_in_an_open_dialog_is_signed_out(sign_in, fresh_tenant, monkeypatch):
    at = sign_in("admin")
    target = first_card_target(at, fresh_tenant)
    at.button(key=f"delete:{target['user_id']}").click().run()
    delete_button = at.button(key="confirm.delete").id
    at.session_state[LAST_SEEN_KEY] = time.time() - 30 * 60 - 1  # the dialog stayed open 30 minutes
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)

    press(at, monkeypatch, delete_button, in_dialog=True)
    assert not at.exception
    assert requests(fresh_tenant, DELETES) == 0
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == SIGN_IN_TITLE
    assert infos(at) == ["You were signed out after 30 minutes without activity. Sign in again to continue."]


# --- each guard layer refuses on its own ----------------------------------------------------------------


def viewer_identity(tenant) -> Identity:
    viewer = staff(tenant, "viewer@example.com")
    return Identity(
        sub=viewer["user_id"], email=viewer["email"], name=viewer.get("name"), picture=None,
        expires_at=int(time.time()) + 3600, role=Role.VIEWER,
    )  # fmt: skip


def test_page_layer_a_viewers_pending_block_and_delete_change_nothing(sign_in, fresh_tenant, app_env):
    at = sign_in("viewer")
    raw = a_target(fresh_tenant)
    user = User(user_id=raw["user_id"], email=raw["email"], name=raw["name"])
    before = fresh_tenant.stats()["management_requests"]
    at.session_state["users.toggle_block"] = user
    at.session_state["users.confirm_delete"] = [user]
    at.run()

    assert not at.exception and not at.error and not at.toast
    assert not [b for b in at.button if b.key and b.key.startswith("confirm.")]  # no delete dialog
    assert fresh_tenant.stats()["management_requests"] == before
    assert requests(fresh_tenant, DELETES) == requests(fresh_tenant, PATCHES) == 0
    assert change_rows(app_env) == []


def test_actions_layer_refuses_a_viewer_without_asking_auth0(app_env, fresh_tenant):
    viewer = viewer_identity(fresh_tenant)
    raw = a_target(fresh_tenant)
    user = User(user_id=raw["user_id"], email=raw["email"], name=raw["name"])
    with pytest.raises(NotAllowed) as deleting:
        actions.delete_users(identity=viewer, users=[user])
    with pytest.raises(NotAllowed) as blocking:
        actions.set_blocked(identity=viewer, user=user, blocked=True)
    assert (deleting.value.message, blocking.value.message) == ("Only admins can change users.",) * 2
    assert fresh_tenant.stats()["management_requests"] == 0
    assert change_rows(app_env) == []


def test_actions_layer_refuses_a_stale_admin_identity_of_a_demoted_person(app_env, fresh_tenant):
    """A session's admin role is hours old; Auth0's word now decides (no page involved)."""
    admin = staff(fresh_tenant, "admin@example.com")
    stale = Identity(
        sub=admin["user_id"], email=admin["email"], name=admin.get("name"), picture=None,
        expires_at=int(time.time()) + 3600, role=Role.ADMIN,
    )  # fmt: skip
    raw = a_target(fresh_tenant)
    set_roles(fresh_tenant, admin["user_id"], [])
    with pytest.raises(NotAllowed) as refused:
        actions.delete_users(identity=stale, users=[User(user_id=raw["user_id"], email=raw["email"])])
    assert refused.value.message == "Nothing was changed: you are no longer an admin in Auth0."
    assert requests(fresh_tenant, DELETES) == 0


def test_wrapper_layer_refuses_self_delete_and_self_block_without_asking_auth0(app_env, fresh_tenant):
    directory = Directory.from_settings(load_settings(app_env, dotenv_path=None))
    admin = staff(fresh_tenant, "admin@example.com")["user_id"]
    with pytest.raises(NotAllowed) as deleting:
        directory.delete_user(actor_sub=admin, user_id=admin)
    with pytest.raises(NotAllowed) as blocking:
        directory.set_blocked(actor_sub=admin, user_id=admin, blocked=True)
    assert (deleting.value.message, blocking.value.message) == (
        "You cannot delete your own account. Ask another admin.",
        "You cannot block your own account. Ask another admin.",
    )
    assert fresh_tenant.stats()["management_requests"] == 0


def test_a_demoted_admin_blocking_from_a_card_is_refused_and_sees_the_viewer_page(
    sign_in, fresh_tenant, app_env
):
    at = sign_in("admin")
    admin = staff(fresh_tenant, "admin@example.com")
    target = first_card_target(at, fresh_tenant)
    set_roles(fresh_tenant, admin["user_id"], ["User Viewer"])
    at.button(key=f"block:{target['user_id']}").click().run()

    assert not at.exception and not at.toast
    assert [visible(e.value) for e in at.error] == [
        "Nothing was changed: you are no longer an admin in Auth0."
    ]
    assert requests(fresh_tenant, PATCHES) == 0
    assert not [b for b in at.button if b.key and b.key.startswith(("delete:", "block:"))]
    assert [b.key for b in at.button if b.key and b.key.startswith("detail:")]  # still a viewer
