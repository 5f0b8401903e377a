"""New users and invitations below the page (admin_core.invitations) and on the "New user" page (AppTest).

Real HTTP against the dev tenant; audit rows from the real SQLite audit log; the invitation link is used
on the dev tenant's own reset page and the person then signs in through its real sign-in form.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.errors import AdminError, NotAllowed
from admin_core.newusers import parse_bulk
from tests.app.test_audit_trail import open_store
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.identities import identity_of

DB = "Username-Password-Authentication"
CONTRACTORS = "Contractors"
KINDS = {
    "503": ({"status": 503}, "(HTTP 503)"),
    "429": ({"status": 429, "headers": {"x-ratelimit-reset": str(int(time.time()) + 30)}}, "rate limit"),
    "timeout": ({"delay_ms": 3_000}, "did not answer in time"),
    "dropped": ({"drop": True}, "Could not reach Auth0"),
    "malformed": ({"malformed": True}, "could not read"),
}


@pytest.fixture(autouse=True)
def no_connections_cached():
    runtime.forget_connections()
    yield
    runtime.forget_connections()


@pytest.fixture
def admin(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "admin@example.com", Role.ADMIN)


@pytest.fixture
def viewer(fresh_tenant) -> Identity:
    return identity_of(fresh_tenant, "viewer@example.com", Role.VIEWER)


def rows(env: dict, action: str) -> list:
    store = open_store(env)
    try:
        return store.query(action=action, per_page=100).events
    finally:
        store.close()


def by_email(tenant, email: str) -> dict | None:
    return next((u for u in tenant.users() if u.get("email") == email), None)


# --- connections -------------------------------------------------------------------------------------------


def test_the_database_connections_and_their_policies_are_listed(app_env, fresh_tenant):
    found = {c.name: c for c in runtime.database_connections()}
    assert set(found) == {DB, CONTRACTORS}
    assert found[DB].policy.level == "good"
    assert found[CONTRACTORS].policy.level == "excellent" and found[CONTRACTORS].policy.length == 12
    before = fresh_tenant.stats()["management_requests"]
    runtime.database_connections()
    assert fresh_tenant.stats()["management_requests"] == before  # asked once a minute


# --- a user with a password ------------------------------------------------------------------------------


def test_an_admin_creates_a_user_with_a_password_who_can_then_sign_in(app_env, fresh_tenant, admin):
    user = actions.create_user(
        identity=admin, connection=DB, email=" Grace@Example.org ", name="Grace Hopper", password="Abcdefg1!"
    )
    assert user.email == "grace@example.org" and user.name == "Grace Hopper" and user.user_id
    assert fresh_tenant.try_sign_in("grace@example.org", "Abcdefg1!").status_code == 302
    (row,) = rows(app_env, "create_user")
    assert row.state == "ok" and row.target_email == "grace@example.org"
    assert user.user_id in row.message and "Abcdefg1!" not in row.message


def test_a_password_below_the_policy_is_refused_before_anything_is_sent(app_env, fresh_tenant, admin):
    runtime.database_connections()
    before = fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0)
    with pytest.raises(NotAllowed) as refused:
        actions.create_user(
            identity=admin, connection=CONTRACTORS, email="c@example.org", name=None, password="Abcdefg1!"
        )
    assert "at least 12 characters" in refused.value.message
    assert fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0) == before
    assert by_email(fresh_tenant, "c@example.org") is None


def test_auth0s_own_refusal_of_a_password_is_shown_in_words(app_env, fresh_tenant, admin):
    """The app read the policy as "low"; meanwhile Auth0's is "excellent": Auth0 refuses, the app says so."""
    fresh_tenant._call("PUT", f"/__dev/connections/{DB}", json={"passwordPolicy": "low"})
    runtime.database_connections()
    fresh_tenant._call("PUT", f"/__dev/connections/{DB}", json={"passwordPolicy": "excellent"})
    with pytest.raises(AdminError) as refused:
        actions.create_user(
            identity=admin, connection=DB, email="w@example.org", name=None, password="sixsix"
        )
    assert "PasswordStrengthError: Password is too weak" in refused.value.message
    assert "Choose a stronger password" in refused.value.message
    (row,) = rows(app_env, "create_user")
    assert row.state == "error" and row.message == refused.value.message


def test_a_duplicate_email_is_auth0s_409_in_words_with_the_existing_person(app_env, fresh_tenant, admin):
    existing = by_email(fresh_tenant, "staff@example.com")
    with pytest.raises(AdminError) as refused:
        actions.create_user(
            identity=admin, connection=DB, email="staff@example.com", name=None, password="Abcdefg1!"
        )
    assert "already has a user with this email" in refused.value.message
    assert "The user already exists." in refused.value.message
    assert refused.value.user_id == existing["user_id"]


def test_a_viewer_is_refused_below_the_ui(app_env, fresh_tenant, viewer):
    with pytest.raises(NotAllowed):
        actions.create_user(
            identity=viewer, connection=DB, email="v@example.org", name=None, password="Abcdefg1!"
        )
    with pytest.raises(NotAllowed):
        actions.invite_user(identity=viewer, connection=DB, email="v@example.org", name=None)
    with pytest.raises(NotAllowed):
        actions.bulk_invite(identity=viewer, connection=DB, rows=parse_bulk("v@example.org"))
    assert by_email(fresh_tenant, "v@example.org") is None
    assert fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0) == 0


# --- invitations -------------------------------------------------------------------------------------------


def test_an_invited_person_sets_a_password_with_the_link_and_signs_in(app_env, fresh_tenant, admin):
    invitation = actions.invite_user(identity=admin, connection=DB, email="ada@example.org", name="Ada")
    assert invitation.link and invitation.expires_at and not invitation.emailed
    assert "ticket=" not in repr(invitation)  # the link is kept out of logs and reprs
    created = by_email(fresh_tenant, "ada@example.org")
    assert created["email_verified"] is False
    assert fresh_tenant.outbox() == []  # no verification email besides the invitation
    assert fresh_tenant.reset_password(invitation.link, "Ada-Chose-This-1").status_code == 200
    assert by_email(fresh_tenant, "ada@example.org")["email_verified"] is True  # mark_email_as_verified
    assert fresh_tenant.try_sign_in("ada@example.org", "Ada-Chose-This-1").status_code == 302
    (row,) = rows(app_env, "invite_user")
    assert row.state == "ok" and created["user_id"] in row.message
    assert invitation.link not in (row.message or "") and "ticket" not in (row.message or "")


def test_the_random_password_is_unknown_so_nobody_signs_in_before_the_link(app_env, fresh_tenant, admin):
    actions.invite_user(identity=admin, connection=CONTRACTORS, email="x@example.org", name=None)
    for guess in ("devtenant", "", "password"):
        assert fresh_tenant.try_sign_in("x@example.org", guess).status_code != 302


def test_an_invitation_by_auth0s_reset_email(app_env, fresh_tenant, admin):
    invitation = actions.invite_user(
        identity=admin, connection=DB, email="em@example.org", name=None, how=actions.EMAIL
    )
    assert invitation.emailed and invitation.link is None
    (mail,) = fresh_tenant.outbox()
    assert mail["to"] == "em@example.org"
    assert fresh_tenant.reset_password(mail["link"], "Emailed-Choice-1").status_code == 200
    assert fresh_tenant.try_sign_in("em@example.org", "Emailed-Choice-1").status_code == 302


def test_an_invitation_to_a_present_email_is_refused_and_nothing_changes(app_env, fresh_tenant, admin):
    with pytest.raises(AdminError) as refused:
        actions.invite_user(identity=admin, connection=DB, email="admin@example.com", name=None)
    assert refused.value.user_id == admin.sub
    assert fresh_tenant.try_sign_in("admin@example.com", "devtenant").status_code == 302


# --- bulk --------------------------------------------------------------------------------------------------


def test_bulk_invite_creates_the_new_skips_the_present_and_lists_each_row(app_env, fresh_tenant, admin):
    staff = by_email(fresh_tenant, "staff@example.com")
    text = "email,name\nb1@example.org,Bee One\nstaff@example.com,Staff\nnot-an-email\nb2@example.org\n"
    parsed = parse_bulk(text)
    report = actions.bulk_invite(identity=admin, connection=DB, rows=parsed)
    assert [r.email for r, _ in report.invited] == ["b1@example.org", "b2@example.org"]
    assert [(r.email, uid) for r, uid in report.skipped] == [("staff@example.com", staff["user_id"])]
    assert report.failed == []
    assert by_email(fresh_tenant, "b1@example.org")["name"] == "Bee One"
    link = report.invited[1][1].link
    assert fresh_tenant.reset_password(link, "Bee-Two-Chose-1").status_code == 200
    assert fresh_tenant.try_sign_in("b2@example.org", "Bee-Two-Chose-1").status_code == 302
    states = sorted((e.target_email, e.state) for e in rows(app_env, "bulk_invite"))
    assert states == [("b1@example.org", "ok"), ("b2@example.org", "ok"), ("staff@example.com", "error")]


# --- the fault matrix --------------------------------------------------------------------------------------


def assert_sentence(message: str, expected: str) -> None:
    assert expected in message, message
    assert "Traceback" not in message and "Error(" not in message


@pytest.mark.case("1 Auth0 faults")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("call", ["connections", "create", "ticket"])
def test_a_fault_on_each_creation_call_is_a_sentence_and_an_error_row(env, fresh_tenant, admin, call, kind):
    runtime.get_directory().actor_standing(admin.sub)  # the actor's check is not the call under test
    if call != "connections":
        runtime.database_connections()
    fault, expected = KINDS[kind]
    method, path = {
        "connections": ("GET", "/api/v2/connections"),
        "create": ("POST", "/api/v2/users"),
        "ticket": ("POST", "/api/v2/tickets/password-change"),
    }[call]
    fresh_tenant.add_fault(method=method, path=path, times=1, **fault)
    with pytest.raises(AdminError) as failed:
        actions.invite_user(identity=env and admin, connection=DB, email="f@example.org", name=None)
    assert_sentence(failed.value.message, expected)
    audit = rows(env, "invite_user")
    if call == "connections":
        assert audit == [] and by_email(fresh_tenant, "f@example.org") is None
    else:
        (row,) = audit
        assert row.state == "error" and row.message == failed.value.message
    if call == "ticket":
        assert "was created, but the invitation could not be made" in failed.value.message
    fresh_tenant.clear_faults()
    runtime.forget_connections()
    assert runtime.database_connections()  # and the next call works


# --- the page (AppTest, app.py on every rerun) ------------------------------------------------------------


def texts(at) -> str:
    parts = [
        e.value
        for kind in ("success", "error", "warning", "info", "caption", "markdown")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def unescaped(text: str) -> str:
    return text.replace("\\", "").replace("\u2060", "")


def test_a_viewers_navigation_has_no_new_user_page(sign_in):
    """The page file is registered for admins only (a viewer at /new-user reads "Admins only")."""
    at = sign_in("viewer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/new_user.py")


def test_the_menu_has_new_user_for_admins_only(sign_in):
    from admin_core.ui.gate import ADMINS_ONLY

    at = sign_in("admin", page="pages/new_user.py")
    assert not at.exception and at.title[0].value == "New user"
    assert ADMINS_ONLY not in texts(at)


def test_an_admin_invites_from_the_page_and_the_link_is_shown_once(sign_in, app_env, fresh_tenant):
    at = sign_in("admin", page="pages/new_user.py")
    at.text_input(key="newuser.email").input("page.invite@example.org")
    at.text_input(key="newuser.name").input("Page Invite").run()
    at.button(key="newuser.create").click().run()
    assert not at.exception
    (code,) = at.code
    link = code.value
    assert "/lo/reset?ticket=" in link
    assert "Invited page.invite@example.org" in unescaped(at.toast[0].value)
    assert at.text_input(key="newuser.email").value == ""  # the form is cleared for the next person
    assert link not in str(at.query_params) and "ticket" not in str(dict(at.query_params))
    at.run()
    assert not at.code  # shown once
    assert fresh_tenant.reset_password(link, "From-The-Page-1").status_code == 200
    assert fresh_tenant.try_sign_in("page.invite@example.org", "From-The-Page-1").status_code == 302


def test_a_password_is_checked_live_and_auth0s_duplicate_is_said_with_a_link(sign_in, app_env, fresh_tenant):
    at = sign_in("admin", page="pages/new_user.py")
    at.radio(key="newuser.how").set_value("password").run()
    assert "good policy" in texts(at)
    at.text_input(key="newuser.email").input("staff@example.com")
    at.text_input(key="newuser.password").input("weakpass").run()
    assert "Include at least 3 of these 4 kinds" in unescaped(texts(at))
    assert at.button(key="newuser.create").disabled
    at.text_input(key="newuser.password").input("Strong-Enough-1").run()
    assert not at.button(key="newuser.create").disabled
    at.button(key="newuser.create").click().run()
    assert not at.exception
    said = unescaped(texts(at))
    assert "already has a user with this email" in said and "The user already exists." in said
    staff = by_email(fresh_tenant, "staff@example.com")
    links = [str(link.proto) for link in at.get("page_link")]
    assert any(quote(staff["user_id"], safe="") in link for link in links), links


def test_bulk_invite_from_the_page_previews_then_lists_each_row(sign_in, app_env, fresh_tenant):
    at = sign_in("admin", page="pages/new_user.py")
    at.text_area(key="newuser.bulk_text").input("p1@example.org, Pea One\nstaff@example.com\nnope\n")
    at.button(key="newuser.bulk_preview_button").click().run()
    preview = next(d.value for d in at.dataframe if "check" in d.value.columns)
    assert list(preview["email"]) == ["p1@example.org", "staff@example.com", "nope"]
    assert by_email(fresh_tenant, "p1@example.org") is None  # a preview creates nobody
    button = next(b for b in at.button if b.key == "newuser.bulk_create")
    assert button.label == "Invite 2 people"
    button.click().run()
    assert not at.exception
    outcome = next(d.value for d in at.dataframe if "outcome" in d.value.columns)
    assert list(outcome["outcome"]) == ["invited", "already present: skipped"]
    assert by_email(fresh_tenant, "p1@example.org")["name"] == "Pea One"
    assert outcome["link"].iloc[0].startswith(fresh_tenant.base_url)
    at.run()
    assert not [d for d in at.dataframe if "outcome" in d.value.columns]  # the links are shown once


@pytest.mark.case("1 Auth0 faults")
def test_a_create_is_never_retried_even_when_retries_are_on(fresh_tenant, tmp_path, monkeypatch, admin):
    """A retried POST after a lost answer would meet the new user as a 409: Auth0 is asked once."""
    values = app_environment(fresh_tenant.base_url, tmp_path, AUTH0_MAX_RETRIES="2")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    clear_app_caches()
    try:
        runtime.database_connections()
        fresh_tenant.add_fault(method="POST", path="/api/v2/users", status=503, times=1)
        before = fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0)
        with pytest.raises(AdminError) as failed:
            actions.invite_user(identity=admin, connection=DB, email="once@example.org", name=None)
        assert "(HTTP 503)" in failed.value.message
        assert fresh_tenant.stats()["requests"].get("POST /api/v2/users", 0) == before + 1
    finally:
        fresh_tenant.clear_faults()
        clear_app_caches()
