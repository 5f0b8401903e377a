"""One person's page (/user?id=...) against the dev tenant over real HTTP (AppTest): the way there and back,
the Summary's verdicts, each fix end to end, the viewer's view, missing scopes and a fault on one section."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY
from admin_core.ui.chrome import md
from tests.support.app_env import ROOT
from tests.support.browserless import FakePopup, authorize
from tests.support.markdown import visible

STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}
PERSON = "pages/user.py"


def find(tenant, predicate) -> dict:
    return next(u for u in tenant.users() if u.get("email") not in STAFF and predicate(u))


def is_database_user(user: dict) -> bool:
    return any(i.get("provider") == "auth0" for i in user.get("identities", []))


def stored(tenant, user_id: str) -> dict:
    return next(u for u in tenant.users() if u["user_id"] == user_id)


def open_person(at: AppTest, user_id: str) -> AppTest:
    """What a shared link /user?id=... does for a signed-in session."""
    at.switch_page(PERSON)
    at.query_params["id"] = user_id
    return at.run()


def verdicts(at: AppTest) -> list[str]:
    """The Summary's headlines and the page's other alerts (not the dev tenant banner), as a person reads
    them: a verdict box is "**headline**" and its evidence on the next line."""
    boxes = [*at.error, *at.warning, *at.success, *at.info]
    shown = [b.value for b in boxes if not b.value.startswith("Local dev tenant at ")]
    return [visible(value.split("  \n")[0]).strip("*") for value in shown]


def fix_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and ".fix:" in b.key]


def toasts(at: AppTest) -> list[str]:
    return [visible(t.value) for t in at.toast]


def confirm(at: AppTest, key: str) -> AppTest:
    """Press a fix button, then the confirmation dialog's button."""
    at.button(key=key).click().run()
    assert at.button(key="person.confirm.ok"), "no confirmation dialog"
    return at.button(key="person.confirm.ok").click().run()


def frame(at: AppTest, column: str):
    """The page's table that has this column (MFA: "method", sessions: "applications")."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(at: AppTest) -> str:
    return "\n".join(visible(m.value) for m in [*at.markdown, *at.caption])


def test_details_on_a_card_opens_the_persons_page_and_back_keeps_the_search(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("name") and not u.get("blocked"))
    at = sign_in("admin")
    at.text_input(key="users.text").input(user["email"]).run()
    at.button(key="page.next")  # the listing is there
    at.button(key=f"detail:{user['user_id']}").click().run()
    assert not at.exception
    assert at.query_params["id"] == [user["user_id"]] or at.query_params["id"] == user["user_id"]
    assert visible(at.header[0].value) == user["name"]
    assert at.table[0].value.loc["User ID", "value"] == user["user_id"]
    at.button(key="person.back").click().run()
    assert not at.exception
    assert at.text_input(key="users.text").value == user["email"]
    assert [b.key for b in at.button if b.key and b.key.startswith("detail:")] == [
        f"detail:{user['user_id']}"
    ]


def test_details_on_a_ticked_table_row_opens_that_persons_page(sign_in, fresh_tenant):
    at = sign_in("viewer")
    at.query_params["view"] = "table"
    at.session_state["users.loaded_params"] = None
    at.run()
    user_id = at.dataframe[0].value["user_id"][2]
    at.session_state["users.table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    at.button(key=f"row-detail:{user_id}").click().run()
    assert at.table[0].value.loc["User ID", "value"] == user_id


def test_the_persons_page_shows_profile_identities_metadata_and_roles(sign_in, fresh_tenant):
    at = sign_in("admin")
    admin_id = at.session_state[IDENTITY_KEY].sub
    open_person(at, admin_id)
    table = at.table[0].value
    assert table.loc["Roles", "value"] == "User Admin"
    profile, identities, app_metadata, _ = (json.loads(j.value) for j in at.json)
    assert profile["email"] == "admin@example.com"
    assert [i["connection"] for i in identities] == ["Username-Password-Authentication"]
    assert app_metadata == {"staff": True}


def test_a_link_to_a_person_who_no_longer_exists_says_so_with_the_way_back(sign_in, fresh_tenant):
    at = open_person(sign_in("admin"), "auth0|no-such-person")
    assert not at.exception
    assert any("no longer exists in Auth0" in v for v in verdicts(at))
    assert at.button(key="person.back")
    at.button(key="person.back").click().run()
    assert [b for b in at.button if b.key and b.key.startswith("detail:")]


def test_a_signed_out_link_to_a_person_signs_in_first_then_shows_them(app_env, fresh_tenant, monkeypatch):
    user = find(fresh_tenant, lambda u: u.get("name"))
    FakePopup(email="viewer@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / PERSON), default_timeout=30)
    at.query_params["id"] = user["user_id"]
    at.run()
    at.run()
    assert not at.exception
    assert at.table and at.table[0].value.loc["User ID", "value"] == user["user_id"]


def test_blocked_by_an_admin_is_the_verdict_and_unblock_fixes_it(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    assert verdicts(at)[0] == "Blocked by an admin"
    confirm(at, "summary0.fix:unblock")
    assert toasts(at) == [f"Unblocked {user['email']}"]
    assert "Blocked by an admin" not in verdicts(at)  # the Summary follows without a reload
    assert not stored(fresh_tenant, user["user_id"]).get("blocked")


def test_cancel_in_the_confirmation_changes_nothing(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    at.button(key="summary0.fix:unblock").click().run()
    assert user["email"] in texts(at) or user.get("name", "") in texts(at)  # the dialog names the person
    at.button(key="person.confirm.cancel").click().run()
    assert stored(fresh_tenant, user["user_id"])["blocked"] is True
    assert verdicts(at)[0] == "Blocked by an admin"


def test_email_not_verified_then_resend_and_mark_as_verified(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("email_verified") is False and not u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    assert "Email not verified" in verdicts(at)
    confirm(at, "security.fix:resend_verification")
    assert toasts(at) == [f"Sent a verification email to {user['email']}"]
    confirm(at, "security.fix:mark_verified")
    assert toasts(at) == [f"Marked {user['email']} as verified"]
    assert "Email not verified" not in verdicts(at)
    assert stored(fresh_tenant, user["user_id"])["email_verified"] is True


def wrong_passwords(tenant, email: str, times: int = 10) -> None:
    """Type a wrong password `times` times in the dev tenant's own sign-in form (as a person would)."""
    query = urlencode(
        {
            "client_id": "dashboard",
            "response_type": "code",
            "redirect_uri": "http://localhost:8501/component/streamlit_oauth.authorize_button/index.html",
            "scope": "openid profile email",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    for _ in range(times):
        answer = authorize(f"{tenant.base_url}/authorize?{query}", email=email, password="not-the-password")
        assert "code" not in answer


def test_locked_by_brute_force_then_unblock_for_all_ips(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: is_database_user(u) and not u.get("blocked"))
    wrong_passwords(fresh_tenant, user["email"])
    at = open_person(sign_in("admin"), user["user_id"])
    headline = "Locked out after too many wrong passwords from 127.0.0.1 (brute-force protection)"
    assert headline in verdicts(at)
    assert "Locked by brute-force protection" in texts(at)
    confirm(at, "security.fix:unlock")
    assert toasts(at) == [f"Removed the brute-force locks on {user['email']}"]
    assert headline not in verdicts(at)
    assert "No brute-force locks." in texts(at)


def test_the_activity_lists_wrong_passwords_in_words_and_filters_failures(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: is_database_user(u) and not u.get("blocked"))
    wrong_passwords(fresh_tenant, user["email"], times=3)
    at = open_person(sign_in("admin"), user["user_id"])
    lines = [visible(m.value) for m in at.markdown]
    assert any("Failed Login (Incorrect Password)" in line for line in lines), lines
    assert any("127.0.0.1" in visible(c.value) for c in at.caption)
    at.toggle(key="person.failures_only").set_value(True).run()
    assert not at.exception
    assert any("Failed Login (Incorrect Password)" in visible(m.value) for m in at.markdown)
    assert not any("Success Login" in visible(m.value) for m in at.markdown)


def test_a_reset_link_is_shown_once_and_never_in_the_url(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: is_database_user(u) and not u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    confirm(at, "security.fix:reset_link")
    assert toasts(at) == [f"Created a password reset link for {user['email']}"]
    (code,) = at.code
    link = code.value
    assert link.startswith("http") and "ticket" in link
    assert link not in repr(dict(at.query_params))
    assert "person.reset_link" not in at.session_state  # dropped once shown
    at.run()
    assert not at.code  # shown once


def test_a_reset_email_is_sent_to_a_database_user(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: is_database_user(u) and not u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    confirm(at, "security.fix:reset_email")
    assert toasts(at) == [f"Sent a password reset email to {user['email']}"]


def test_a_social_user_has_no_password_to_reset_here(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u["identities"][0]["connection"] == "google-oauth2")
    at = open_person(sign_in("admin"), user["user_id"])
    assert "Signs in with Google; no password to reset here" in verdicts(at)
    assert "security.fix:reset_email" not in fix_keys(at)


def test_viewer_sees_the_state_and_no_fix_buttons(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("viewer"), user["user_id"])
    assert verdicts(at)[0] == "Blocked by an admin"
    assert fix_keys(at) == []
    assert "An admin can fix this on this page: Unblock." in [c.value for c in at.caption]
    assert "Blocked by an admin: Auth0 refuses every sign-in." in texts(at)  # the Security state


def test_a_viewer_with_a_pending_confirmation_gets_no_dialog_and_changes_nothing(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = sign_in("viewer")
    at.session_state["person.shown"] = user["user_id"]  # the flag belongs to this person: kept
    at.session_state["person.confirm"] = (user["user_id"], "unblock")
    open_person(at, user["user_id"])
    assert not [b for b in at.button if b.key == "person.confirm.ok"]
    assert stored(fresh_tenant, user["user_id"])["blocked"] is True


def example(tenant, trait: str) -> str:
    """A generated user with this trait ("locked", "mfa", "sessions", ...), from the dev tenant's list."""
    ids = tenant._call("GET", "/__dev/support", params={"n": 5})[trait]
    assert ids, trait
    return ids[0]


def test_mfa_is_listed_and_can_be_reset_and_browsers_forgotten(sign_in, fresh_tenant):
    user = stored(fresh_tenant, example(fresh_tenant, "mfa"))
    at = open_person(sign_in("admin"), user["user_id"])
    assert frame(at, "method")["method"].tolist()  # what they enrolled
    confirm(at, "security.fix:reset_mfa")
    assert toasts(at) == [f"Reset MFA for {user['email']}"]
    assert "No second factor enrolled." in texts(at)
    confirm(at, "security.fix:forget_browsers")
    assert toasts(at) == [f"Forgot the remembered browsers of {user['email']}"]


def test_a_generated_lock_is_the_verdict_with_its_address(sign_in, fresh_tenant):
    user_id = example(fresh_tenant, "locked")
    at = open_person(sign_in("viewer"), user_id)
    assert any(v.startswith("Locked out after too many wrong passwords from ") for v in verdicts(at))
    assert "Locked by brute-force protection" in texts(at)
    assert fix_keys(at) == []


def test_an_admin_cannot_reset_their_own_mfa_here(sign_in, fresh_tenant):
    at = sign_in("admin")
    open_person(at, at.session_state[IDENTITY_KEY].sub)
    assert "security.fix:reset_mfa" not in fix_keys(at)
    assert "Your own MFA cannot be reset here." in [c.value for c in at.caption]


def session_requests(tenant) -> int:
    return sum(n for route, n in tenant.stats()["requests"].items() if "sessions" in route)


def test_sessions_are_fetched_only_when_asked_for_and_sign_out_everywhere_ends_them(sign_in, fresh_tenant):
    user = stored(fresh_tenant, example(fresh_tenant, "sessions"))
    at = open_person(sign_in("admin"), user["user_id"])
    assert session_requests(fresh_tenant) == 0
    at.button(key="person.sessions.show").click().run()
    assert session_requests(fresh_tenant) == 1
    assert len(frame(at, "applications")) >= 1
    confirm(at, "security.fix:sign_out_everywhere")
    assert toasts(at) == [f"Signed {user['email']} out everywhere"]
    assert "No active sessions." in texts(at)


def test_sessions_on_a_plan_without_them_say_so_and_the_rest_works(sign_in, fresh_tenant):
    fresh_tenant._call("PUT", "/__dev/plan", json={"plan": "professional"})
    user_id = example(fresh_tenant, "sessions")
    at = open_person(sign_in("admin"), user_id)
    at.button(key="person.sessions.show").click().run()
    assert not at.exception
    assert not [d for d in at.dataframe if "applications" in d.value.columns]
    assert "security.fix:sign_out_everywhere" not in fix_keys(at)
    assert at.warning, "the sessions section says why not"
    assert at.table[0].value.loc["User ID", "value"] == user_id


def test_the_verification_email_is_what_the_dev_tenant_would_have_sent(sign_in, fresh_tenant):
    """The dev tenant records mail in its outbox (there is no mail server)."""
    user = find(fresh_tenant, lambda u: u.get("email_verified") is False and not u.get("blocked"))
    fresh_tenant._call("DELETE", "/__dev/outbox")
    at = open_person(sign_in("admin"), user["user_id"])
    confirm(at, "security.fix:resend_verification")
    assert [m["to"] for m in fresh_tenant._call("GET", "/__dev/outbox")] == [user["email"]]


def test_missing_scopes_are_named_with_where_to_add_them_and_the_rest_works(
    sign_in, fresh_tenant, monkeypatch
):
    monkeypatch.setenv("AUTH0_CLIENT_ID", "narrow-m2m")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "narrow-secret")
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    assert not at.exception
    page = "\n".join([*verdicts(at), texts(at)])
    assert "read:logs" in page
    assert "Auth0 Management API" in page  # where to add it (GRANT_PLACE)
    assert "Blocked by an admin" in verdicts(at)  # the user itself was read
    assert at.table[0].value.loc["User ID", "value"] == user["user_id"]


def test_a_fault_on_the_log_leaves_the_rest_of_the_page_working(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = sign_in("admin")
    fresh_tenant.add_fault(method="GET", path=f"/api/v2/users/{user['user_id']}/logs", status=503, times=5)
    open_person(at, user["user_id"])
    assert not at.exception
    assert "The sign-in history could not be read" in verdicts(at)
    assert "Blocked by an admin" in verdicts(at)
    assert at.table[0].value.loc["User ID", "value"] == user["user_id"]
    assert "Traceback" not in texts(at)


def test_a_fix_that_auth0_refuses_says_why_in_words(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    fresh_tenant.add_fault(method="PATCH", path="/api/v2/users/", status=503, times=5)
    confirm(at, "summary0.fix:unblock")
    assert not at.exception and not toasts(at)
    assert any(v.startswith("Not done:") for v in verdicts(at))
    assert stored(fresh_tenant, user["user_id"])["blocked"] is True


def test_hostile_names_and_auth0_texts_on_the_persons_page_show_as_text(sign_in, fresh_tenant):
    name = "**Bold** [click](https://evil.example) :red[x] <b>hi</b>"
    user = fresh_tenant.create_user(email="hostile@evil.test", name=name)
    fresh_tenant.add_fault(
        method="GET",
        path=f"/api/v2/users/{user['user_id']}/roles",
        status=409,
        body={"statusCode": 409, "error": "Conflict", "message": "![x](https://evil.example/p.png)"},
    )
    at = open_person(sign_in("admin"), user["user_id"])
    assert not at.exception
    assert at.header[0].value == md(name) and visible(at.header[0].value) == name  # escaped, no markup
    roles_warning = next(w.value for w in at.warning if "roles" in w.value)
    assert "![x](" not in roles_warning and visible(roles_warning).endswith(
        "(![x](https://evil.example/p.png)). Reload and try again."
    )


def test_after_logout_a_rerun_of_the_open_confirmation_shows_and_changes_nothing(
    sign_in, fresh_tenant, monkeypatch
):
    """A dialog's own rerun skips the page's gate: the confirmation checks the session itself."""
    from tests.app.test_authorization import SIGN_IN_TITLE, press

    user = find(fresh_tenant, lambda u: u.get("blocked"))
    at = open_person(sign_in("admin"), user["user_id"])
    log_out = at.button(key="header.logout").id
    at.button(key="summary0.fix:unblock").click().run()
    ok_button = at.button(key="person.confirm.ok").id
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    press(at, monkeypatch, log_out)
    assert IDENTITY_KEY not in at.session_state
    before = fresh_tenant.stats()["management_requests"]

    press(at, monkeypatch, ok_button, in_dialog=True)
    assert not at.exception
    assert fresh_tenant.stats()["management_requests"] == before
    assert stored(fresh_tenant, user["user_id"])["blocked"] is True
    assert user["email"] not in texts(at)
    assert [t.value for t in at.title] == SIGN_IN_TITLE


def test_the_activity_pages_through_a_long_history_with_the_one_pager(sign_in, fresh_tenant):
    user = find(fresh_tenant, lambda u: is_database_user(u) and not u.get("blocked"))
    for n in range(6):  # each lock writes ten wrong passwords from that address: 60 entries and more
        fresh_tenant._call(
            "POST", f"/__dev/users/{user['user_id']}/blocks", json={"ip": f"203.0.113.{n + 1}"}
        )
    at = open_person(sign_in("admin"), user["user_id"])
    assert any(m.value.startswith("Page **1** of **") for m in at.markdown)
    first = [visible(c.value) for c in at.caption if c.value.startswith("IP ")]
    before = fresh_tenant.stats()["management_requests"]
    at.button(key="person.logs.next").click().run()
    assert not at.exception
    assert any(m.value.startswith("Page **2** of **") for m in at.markdown)
    assert fresh_tenant.stats()["management_requests"] == before + 1  # one request for the next page
    assert [visible(c.value) for c in at.caption if c.value.startswith("IP ")] != first
    at.button(key="person.logs.prev").click().run()
    assert fresh_tenant.stats()["management_requests"] == before + 1  # page 1 came with the person
