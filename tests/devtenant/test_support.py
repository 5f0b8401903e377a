"""Support-desk endpoints of the dev tenant over real HTTP, through auth0-python where it has the call."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest
from auth0.authentication import Database
from auth0.management.errors import ForbiddenError, NotFoundError

from devtenant.support import BLOCKED_MESSAGE
from tests.devtenant.conftest import get_token, management


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _user(dt, user_id: str) -> dict:
    return next(u for u in dt.users() if u["user_id"] == user_id)


# --- logs -----------------------------------------------------------------------------------------
def test_generated_logins_match_logins_count_and_last_login(dt, raw):
    checked = 0
    for user in dt.users()[3:60]:
        logs = raw.get(f"/users/{user['user_id']}/logs", params={"per_page": 100}).json()
        successes = [e for e in logs if e["type"] == "s"]
        if not user.get("last_login"):
            assert successes == []
            continue
        assert len(successes) == min(user["logins_count"], 60)
        assert successes[0]["date"] == user["last_login"]
        assert all(e["user_id"] == user["user_id"] for e in logs)
        checked += 1
    assert checked > 20


def test_logs_are_newest_first_paged_with_totals(dt, api, raw):
    uid = dt.accounts and dt.users()[0]["user_id"]  # admin: 40 logins
    body = raw.get(f"/users/{uid}/logs", params={"per_page": 15, "page": 1, "include_totals": "true"}).json()
    assert set(body) == {"start", "limit", "length", "total", "logs"}
    assert (body["start"], body["limit"], body["length"], body["total"]) == (15, 15, 15, 40)
    dates = [e["date"] for e in body["logs"]]
    assert dates == sorted(dates, reverse=True)
    oldest = raw.get(f"/users/{uid}/logs", params={"per_page": 5, "sort": "date:1"}).json()
    assert [e["date"] for e in oldest] == sorted(e["date"] for e in oldest)
    pager = api.users.logs.list(uid, per_page=10)
    assert len(pager.items) == 10 and pager.items[0].type == "s" and pager.items[0].log_id


def test_logs_paging_limits_as_auth0(raw, dt):
    uid = dt.users()[0]["user_id"]
    assert raw.get(f"/users/{uid}/logs", params={"per_page": 101}).status_code == 400
    assert raw.get(f"/users/{uid}/logs", params={"per_page": 0}).status_code == 400
    past = raw.get(f"/users/{uid}/logs", params={"per_page": 100, "page": 10})
    assert past.status_code == 400 and past.json()["errorCode"] == "invalid_paging"
    assert raw.get(f"/users/{uid}/logs", params={"sort": "type:1"}).status_code == 400


def test_narrow_client_cannot_read_logs_but_can_read_blocks(dt):
    api = management(dt, get_token(dt, "narrow-m2m", "narrow-secret")["access_token"])
    uid = dt.users()[5]["user_id"]
    with pytest.raises(ForbiddenError):
        api.users.logs.list(uid)
    assert api.user_blocks.list(uid).blocked_for is not None
    for call in (
        lambda: api.tickets.change_password(user_id=uid),
        lambda: api.users.authentication_methods.list(uid),
        lambda: api.users.authenticators.delete_all(uid),
        lambda: api.users.sessions.list(uid),
    ):
        with pytest.raises(ForbiddenError):
            call()


# --- brute-force protection -----------------------------------------------------------------------
def test_ten_wrong_passwords_lock_then_unblock_then_sign_in(dt, api):
    staff = dt.users()[2]  # staff@example.com
    uid = staff["user_id"]
    for _ in range(9):
        assert "Wrong email or password." in dt.try_sign_in(staff["email"], "nope").text
    assert api.user_blocks.list(uid).blocked_for == []
    assert dt.try_sign_in(staff["email"], "nope").status_code == 401  # the 10th locks
    blocked = api.user_blocks.list(uid).blocked_for
    assert [(b.identifier, b.ip) for b in blocked] == [(staff["email"], "127.0.0.1")]
    refused = dt.try_sign_in(staff["email"], "devtenant")
    assert refused.status_code == 401 and "multiple consecutive login attempts" in refused.text
    types = [e.type for e in api.users.logs.list(uid, per_page=12).items]
    assert types[:11] == ["limit_wc"] + ["fp"] * 10
    [mail] = dt.outbox()  # as in Auth0, the person is told, with a link that would unblock them
    assert (mail["to"], mail["kind"]) == (staff["email"], "blocked_account")
    api.user_blocks.delete(uid)
    assert api.user_blocks.list(uid).blocked_for == []
    ok = dt.try_sign_in(staff["email"], "devtenant")
    assert ok.status_code == 302 and "code=" in ok.headers["location"]
    newest = api.users.logs.list(uid, per_page=1).items[0]
    assert newest.type == "s" and newest.ip == "127.0.0.1"
    assert _user(dt, uid)["logins_count"] == staff["logins_count"] + 1


def test_a_success_resets_the_counter(dt, api):
    staff = dt.users()[1]
    for _ in range(9):
        dt.try_sign_in(staff["email"], "nope")
    assert dt.try_sign_in(staff["email"], "devtenant").status_code == 302
    for _ in range(9):
        dt.try_sign_in(staff["email"], "nope")
    assert api.user_blocks.list(staff["user_id"]).blocked_for == []


def test_unknown_email_writes_fu_and_generated_users_sign_in_with_devtenant(dt, api):
    assert dt.try_sign_in("ghost@example.com", "x").status_code == 401
    assert [e["type"] for e in dt.tenant_logs()] == ["fu"]
    assert dt.tenant_logs()[0]["user_name"] == "ghost@example.com"
    db_user = next(
        u
        for u in dt.users()[3:]
        if u["identities"][0]["connection"] == "Username-Password-Authentication" and not u.get("blocked")
    )
    assert dt.support_state(db_user["user_id"])["password"] == "devtenant"
    if not dt.support_state(db_user["user_id"])["locked"]:
        assert dt.try_sign_in(db_user["email"], "devtenant").status_code == 302


def test_generated_locks_are_listed_and_logged(dt, api):
    locked = dt.support_examples()["locked"]
    assert locked, "some generated users are locked by brute-force protection"
    for uid in locked:
        blocks = api.user_blocks.list(uid).blocked_for
        assert len(blocks) == 1
        newest = api.users.logs.list(uid, per_page=1).items[0]
        assert newest.type == "limit_wc" and newest.ip == blocks[0].ip
    staff_ids = {u["user_id"] for u in dt.users()[:3]}
    assert not staff_ids & set(locked)
    for uid in staff_ids:
        state = dt.support_state(uid)
        assert state["locked"] == [] and state["mfa"] == []


def test_user_blocks_unknown_user_404(api):
    with pytest.raises(NotFoundError) as err:
        api.user_blocks.list("auth0|nobody")
    assert err.value.body["errorCode"] == "inexistent_user"
    with pytest.raises(NotFoundError):
        api.user_blocks.delete("auth0|nobody")


def test_dev_lock_control(dt, api):
    uid = dt.users()[0]["user_id"]
    dt.lock(uid, "203.0.113.4")
    assert [b.ip for b in api.user_blocks.list(uid).blocked_for] == ["203.0.113.4"]


# --- password tickets, emails ---------------------------------------------------------------------
def test_password_ticket_opens_a_page_that_sets_the_password(dt, api):
    staff = dt.users()[2]
    dt.lock(staff["user_id"])
    answer = api.tickets.change_password(user_id=staff["user_id"], ttl_sec=600, mark_email_as_verified=True)
    assert answer.ticket.startswith(f"{dt.base_url}/lo/reset?ticket=") and answer.ticket.endswith("#")
    page = httpx.get(answer.ticket.rstrip("#"))
    assert page.status_code == 200 and "New password" in page.text
    assert dt.reset_password(answer.ticket, "short").status_code == 400
    done = dt.reset_password(answer.ticket, "new-password-1")
    assert done.status_code == 200 and "Password changed" in done.text
    assert api.user_blocks.list(staff["user_id"]).blocked_for == []  # a new password lifts locks
    assert dt.try_sign_in(staff["email"], "new-password-1").status_code == 302
    assert dt.try_sign_in(staff["email"], "devtenant").status_code == 401
    again = dt.reset_password(answer.ticket, "other-password-2")
    assert "already been used" in again.text


def test_expired_ticket_refused_in_words(dt, api):
    ticket = api.tickets.change_password(user_id=dt.users()[2]["user_id"], ttl_sec=1).ticket
    time.sleep(1.2)
    page = httpx.get(ticket.rstrip("#"))
    assert page.status_code == 400 and "This link has expired" in page.text


def test_ticket_for_unknown_or_social_user(dt, api, raw):
    with pytest.raises(NotFoundError):
        api.tickets.change_password(user_id="auth0|nobody")
    social = next(u for u in dt.users() if u["user_id"].startswith("google-oauth2|"))
    assert raw.post("/tickets/password-change", json={"user_id": social["user_id"]}).status_code == 400
    bad = raw.post("/tickets/password-change", json={"user_id": "x", "nope": 1})
    assert bad.status_code == 400 and "Additional properties not allowed: nope" in bad.json()["message"]


def test_verification_email_job_records_an_email_that_verifies(dt, api):
    user = dt.create_user(email="unverified@example.com", password="pw-12345")
    assert user["email_verified"] is False
    job = api.jobs.verification_email.create(user_id=user["user_id"])
    assert job.type == "verification_email" and job.id.startswith("job_") and job.status
    [mail] = dt.outbox()
    assert (mail["to"], mail["kind"], mail["user_id"]) == (
        "unverified@example.com",
        "verification_email",
        user["user_id"],
    )
    assert httpx.get(mail["link"]).status_code == 200
    assert api.users.get(user["user_id"]).email_verified is True
    dt.clear_outbox()
    assert dt.outbox() == []


def test_change_password_email_through_the_authentication_api(dt, api):
    staff = dt.users()[2]
    db = Database(dt.domain, "dashboard", protocol="http")
    said = db.change_password(email=staff["email"], connection="Username-Password-Authentication")
    assert said == "We've just sent you an email to reset your password."
    assert (
        db.change_password(email="ghost@example.com", connection="Username-Password-Authentication") == said
    )
    [mail] = dt.outbox()
    assert mail["to"] == staff["email"] and mail["kind"] == "password_reset"
    assert dt.reset_password(mail["link"], "reset-by-mail-1").status_code == 200
    assert dt.try_sign_in(staff["email"], "reset-by-mail-1").status_code == 302


def test_mark_as_verified_with_patch(dt, api):
    user = dt.create_user(email="later@example.com")
    assert api.users.update(user["user_id"], email_verified=True).email_verified is True
    assert api.users.get(user["user_id"]).email_verified is True


# --- MFA ------------------------------------------------------------------------------------------
def test_mfa_listed_both_ways_and_reset(dt, api, raw):
    uid = dt.support_examples()["mfa"][0]
    methods = api.users.authentication_methods.list(uid).items
    assert methods and all(m.id and m.type and m.created_at for m in methods)
    body = raw.get(f"/users/{uid}/authentication-methods", params={"include_totals": "true"}).json()
    assert set(body) == {"start", "limit", "total", "authenticators"} and body["total"] == len(methods)
    enrolled = api.users.enrollments.get(uid)
    assert len(enrolled) == len(methods) and all(e.status == "confirmed" for e in enrolled)
    api.users.multifactor.invalidate_remember_browser(uid)
    assert dt.support_state(uid)["remember_browser_invalidations"] == 1
    api.users.authenticators.delete_all(uid)
    assert api.users.authentication_methods.list(uid).items == []
    assert api.users.enrollments.get(uid) == []
    with pytest.raises(NotFoundError):
        api.users.authentication_methods.list("auth0|nobody")


# --- sessions -------------------------------------------------------------------------------------
def test_sessions_from_the_form_listed_and_signed_out_everywhere(dt, api):
    staff = dt.users()[1]
    uid = staff["user_id"]
    assert api.users.sessions.list(uid).items == []
    assert dt.try_sign_in(staff["email"], "devtenant").status_code == 302
    [session] = api.users.sessions.list(uid).items
    assert session.user_id == uid and session.device.last_ip == "127.0.0.1"
    api.users.sessions.delete(uid)
    api.users.refresh_token.delete(uid)
    assert api.users.sessions.list(uid).items == []


def test_generated_sessions_and_plan_switch(dt, api, raw):
    uid = dt.support_examples()["sessions"][0]
    assert api.users.sessions.list(uid).items
    dt.set_plan("professional")
    r = raw.get(f"/users/{uid}/sessions")
    assert r.status_code == 403 and r.json()["errorCode"] == "operation_not_supported"
    assert raw.delete(f"/users/{uid}/refresh-tokens").status_code == 403
    assert raw.get(f"/users/{uid}/logs").status_code == 200  # the rest works
    dt.reset()
    assert raw.get(f"/users/{uid}/sessions").status_code == 200


def test_session_cursor_paging(dt, raw):
    staff = dt.users()[0]
    for _ in range(3):
        dt.try_sign_in(staff["email"], "devtenant")
    first = raw.get(f"/users/{staff['user_id']}/sessions", params={"take": 2}).json()
    assert len(first["sessions"]) == 2 and first["next"]
    rest = raw.get(f"/users/{staff['user_id']}/sessions", params={"take": 2, "from": first["next"]}).json()
    assert len(rest["sessions"]) == 1 and "next" not in rest


# --- faults and counting --------------------------------------------------------------------------
def test_faults_and_counters_apply_to_the_new_paths(dt, raw):
    uid = dt.users()[0]["user_id"]
    before = dt.stats()["management_requests"]
    dt.add_fault(method="GET", path=f"/api/v2/user-blocks/{uid}", status=503)
    assert raw.get(f"/user-blocks/{uid}").status_code == 503
    assert raw.get(f"/user-blocks/{uid}").status_code == 200
    dt.add_fault(method="GET", path="/api/v2/users/", status=500)
    assert raw.get(f"/users/{uid}/logs").status_code == 500
    assert dt.stats()["management_requests"] == before + 3
    assert dt.stats()["requests"]["GET /api/v2/users/{id}/logs"] == 1


def test_generation_is_deterministic_and_leaves_users_unchanged(dt, raw):
    uid = dt.support_examples()["failing"][0]
    first = raw.get(f"/users/{uid}/logs", params={"per_page": 100}).json()
    dt.reset()
    assert raw.get(f"/users/{uid}/logs", params={"per_page": 100}).json() == first
    types = [e["type"] for e in first]
    assert types[0] == "fp"
    assert BLOCKED_MESSAGE.startswith("Your account has been blocked")
    assert all(_ms(e["date"]) <= time.time() * 1000 for e in first)


def test_signing_out_everywhere_ends_the_dev_tenants_own_sso_session(dt, api):
    staff = dt.users()[1]
    params = {
        "response_type": "code",
        "client_id": "dashboard",
        "redirect_uri": "http://localhost:8501/callback",
        "scope": "openid",
    }
    with httpx.Client(base_url=dt.base_url, timeout=10, trust_env=False) as browser:
        browser.get("/authorize", params=params)
        form = {**params, "email": staff["email"], "password": "devtenant"}
        assert browser.post("/u/login", data=form).status_code == 302
        assert browser.get("/authorize", params=params).status_code == 302  # SSO: no form
        api.users.sessions.delete(staff["user_id"])
        again = browser.get("/authorize", params=params)
        assert again.status_code == 200 and 'name="password"' in again.text


def test_ticket_result_url_links_back_with_the_email_when_asked(dt, api):
    staff = dt.users()[2]
    ticket = api.tickets.change_password(
        user_id=staff["user_id"], result_url="http://localhost:8501/", include_email_in_redirect=True
    ).ticket
    done = dt.reset_password(ticket, "back-again-1")
    assert "http://localhost:8501/?success=true" in done.text and "email=staff%40example.com" in done.text


def test_the_blocked_account_email_unblocks(dt, api):
    uid = dt.users()[2]["user_id"]
    dt.lock(uid, "198.51.100.7")
    [mail] = dt.outbox()
    assert mail["kind"] == "blocked_account"
    assert httpx.get(mail["link"]).status_code == 200
    assert api.user_blocks.list(uid).blocked_for == []
    assert "already been used" in httpx.get(mail["link"]).text


def test_a_tenant_started_on_another_plan_keeps_it_across_resets(make_tenant):
    pro = make_tenant(plan="professional")
    uid = pro.users()[0]["user_id"]
    with httpx.Client(
        base_url=f"{pro.base_url}/api/v2", headers={"authorization": f"Bearer {pro.management_token()}"}
    ) as raw:
        assert raw.get(f"/users/{uid}/sessions").status_code == 403
        pro.set_plan("enterprise")
        assert raw.get(f"/users/{uid}/sessions").status_code == 200
        pro.reset()
        assert raw.get(f"/users/{uid}/sessions").status_code == 403
    assert httpx.get(f"{pro.base_url}/__dev/config").json()["plan"] == "professional"


def test_faults_apply_to_the_authentication_apis_change_password(dt):
    from auth0.authentication.exceptions import Auth0Error, RateLimitError

    db = Database(dt.domain, "dashboard", protocol="http")
    dt.add_fault(method="POST", path="/dbconnections/change_password", status=429)
    with pytest.raises(RateLimitError):
        db.change_password(email="staff@example.com", connection="Username-Password-Authentication")
    dt.add_fault(method="POST", path="/dbconnections/change_password", status=503)
    with pytest.raises(Auth0Error) as err:
        db.change_password(email="staff@example.com", connection="Username-Password-Authentication")
    assert err.value.status_code == 503
    assert dt.outbox() == []
    with pytest.raises(Auth0Error) as err:
        db.change_password(email="staff@example.com", connection="google-oauth2")
    assert err.value.status_code == 400
