"""The sign-in gate (AppTest against the dev tenant over real HTTP; only the popup is stood in for)."""

from __future__ import annotations

import time

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from admin_core.audit import AuditEvent, AuditStore
from admin_core.auth import IDENTITY_KEY, Identity, Role
from admin_core.settings import load_settings
from tests.support.app_env import ROOT
from tests.support.browserless import FakePopup, authorize, change_state, drop_state
from tests.support.markdown import visible

PAGE_FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
ENTRY_FILES = ["app.py", *PAGE_FILES]


def user_emails(tenant) -> set[str]:
    staff = {"admin@example.com", "viewer@example.com", "staff@example.com"}
    return {u["email"] for u in tenant.users() if u.get("email") and u["email"] not in staff}


def page_text(at: AppTest) -> str:
    parts = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "text",
        "info",
        "warning",
        "error",
        "json",
    ):
        parts += [str(el.value) for el in getattr(at, kind)]
    parts += [str(df.value.to_csv()) for df in at.dataframe]
    return "\n".join(parts)


def management_calls(tenant) -> int:
    return tenant.stats()["management_requests"]


def refused_sign_ins(env: dict[str, str]) -> list[AuditEvent]:
    """The sign_in_refused rows of the audit database the app wrote to (the SQLite file in DATA_DIR)."""
    store = AuditStore(load_settings(env, dotenv_path=None).audit_database_url)
    try:
        return store.query(action="sign_in_refused", per_page=100).events
    finally:
        store.close()


def notices(at: AppTest) -> list[str]:
    """The sign-in screen's notices (st.info), without the dev tenant banner."""
    return [visible(i.value) for i in at.info if not i.value.startswith("Local dev tenant at ")]


def code_exchanges(tenant) -> int:
    return tenant.stats()["token_grants"].get("authorization_code", 0)


STATE_MISMATCH = "Sign-in failed: the answer from Auth0 did not match this sign-in attempt. Try again."
NOT_THIS_SESSION = "Sign-in failed: the sign-in response does not belong to this browser session."


def test_all_page_files_are_covered():
    assert {"pages/users.py", "pages/overview.py", "pages/audit.py", "pages/account.py"} <= set(PAGE_FILES)


@pytest.mark.parametrize("entry", ENTRY_FILES)
def test_signed_out_every_entry_shows_sign_in_and_no_user_data(app_env, fresh_tenant, entry, monkeypatch):
    popup = FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    at = AppTest.from_file(str(ROOT / entry), default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Auth0 User Admin"]
    assert popup.urls, "the Log in with Auth0 button was not rendered"
    text = page_text(at)
    assert not any(email in text for email in user_emails(fresh_tenant))
    assert management_calls(fresh_tenant) == 0


def run_as(identity: Identity, entry: str) -> AppTest:
    """Run one entry file directly (as Streamlit may, see the pages/ bypass) for a signed-in person."""
    at = AppTest.from_file(str(ROOT / entry), default_timeout=30)
    at.session_state[IDENTITY_KEY] = identity
    return at.run()


@pytest.mark.parametrize("entry", ENTRY_FILES)
def test_no_role_sees_no_access_and_nothing_else_on_every_entry(sign_in, fresh_tenant, entry):
    signed_in = sign_in("staff")
    assert [t.value for t in signed_in.title] == ["No access"]
    assert any("staff@\u2060example.com" in w.value for w in signed_in.warning)  # escaped Markdown
    assert [b.label for b in signed_in.button] == ["Log out"]
    before = management_calls(fresh_tenant)
    at = run_as(signed_in.session_state[IDENTITY_KEY], entry)
    assert not at.exception
    assert [t.value for t in at.title] == ["No access"]
    assert not any(email in page_text(at) for email in user_emails(fresh_tenant))
    assert management_calls(fresh_tenant) == before


def test_viewer_cannot_open_the_audit_page_and_it_costs_no_api_call(sign_in, fresh_tenant):
    signed_in = sign_in("viewer")
    before = management_calls(fresh_tenant)
    at = run_as(signed_in.session_state[IDENTITY_KEY], "pages/audit.py")
    assert any("admins only" in e.value for e in at.error)
    assert not any(email in page_text(at) for email in user_emails(fresh_tenant))
    assert management_calls(fresh_tenant) == before


def test_admin_sign_in_lands_on_users_with_name_and_one_role_lookup(sign_in, fresh_tenant):
    at = sign_in("admin")
    assert not at.exception
    assert [t.value for t in at.title] == ["Users"]
    assert "Ada Admin" in at.markdown[0].value and "Admin" in at.markdown[0].value
    identity = at.session_state[IDENTITY_KEY]
    assert identity.role is Role.ADMIN and identity.email == "admin@example.com"
    stats = fresh_tenant.stats()
    assert stats["requests"].get("GET /api/v2/users/{id}/roles") == 1
    assert stats["token_grants"] == {"authorization_code": 1, "client_credentials": 1}


def test_sign_in_says_so_once_in_a_toast(sign_in):
    at = sign_in("admin")
    assert [t.value for t in at.toast] == ["Signed in as admin@\u2060example.com"]
    at.run()
    assert not at.toast  # once per sign-in, not on every rerun
    viewer = sign_in("viewer")
    assert [t.value for t in viewer.toast] == ["Signed in as viewer@\u2060example.com"]


def test_no_role_gets_no_signed_in_toast(sign_in):
    at = sign_in("staff")
    assert [t.value for t in at.title] == ["No access"]
    assert not at.toast


def test_only_verified_claims_are_kept_in_the_session(sign_in):
    at = sign_in("admin")
    for key in list(at.session_state):
        value = at.session_state[key]
        assert "eyJ" not in repr(value), f"a raw token is kept in session state under {key}"


def test_viewer_signs_in_as_viewer(sign_in):
    at = sign_in("viewer")
    assert at.session_state[IDENTITY_KEY].role is Role.VIEWER
    assert "Viewer" in at.markdown[0].value


@pytest.mark.case("7 session")
def test_an_expired_session_asks_to_sign_in_again_and_does_nothing(sign_in, fresh_tenant, monkeypatch):
    at = sign_in("admin")
    identity = at.session_state[IDENTITY_KEY]
    at.session_state[IDENTITY_KEY] = Identity(**{**identity.__dict__, "expires_at": int(time.time()) - 1})
    FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    before = management_calls(fresh_tenant)
    at.run()
    assert [t.value for t in at.title] == ["Auth0 User Admin"]
    assert any("session has ended" in visible(i.value) for i in at.info)
    assert management_calls(fresh_tenant) == before


def test_role_lookup_failure_fails_closed(app_env, fresh_tenant, monkeypatch):
    fresh_tenant.add_fault(method="GET", path="/api/v2/users/", status=500, times=5)
    FakePopup(email="admin@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert [t.value for t in at.title] == ["No access"]
    assert any("roles could not be read" in e.value for e in at.error)


def test_logout_clears_the_session_and_forces_the_password_next_time(sign_in, monkeypatch):
    at = sign_in("admin")
    popup = FakePopup(email="admin@example.com", clicks=0).install(monkeypatch)
    at.button(key="header.logout").click().run()
    assert IDENTITY_KEY not in at.session_state
    assert any("signed out" in visible(i.value) for i in at.info)
    assert any("/v2/logout?client_id=dashboard" in m.value for m in at.markdown)
    at.run()
    assert "prompt=login" in popup.urls[-1]


@pytest.mark.case("3 hostile sign-in")
def test_mismatched_state_gives_no_session_and_no_code_exchange(app_env, fresh_tenant, monkeypatch):
    FakePopup(email="admin@example.com", tamper=change_state).install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert IDENTITY_KEY not in at.session_state
    assert notices(at) == [STATE_MISMATCH]
    assert code_exchanges(fresh_tenant) == 0
    assert [(e.action, e.state, e.message) for e in refused_sign_ins(app_env)] == [
        ("sign_in_refused", "error", STATE_MISMATCH)
    ]


@pytest.mark.case("3 hostile sign-in")
def test_a_result_without_state_gives_no_session_and_its_code_is_not_exchanged(
    app_env, fresh_tenant, monkeypatch
):
    """streamlit-oauth compares state only when the result has one; the app refuses a result without."""
    popup = FakePopup(email="admin@example.com", tamper=drop_state).install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert popup.results and "code" in popup.results[0] and "state" not in popup.results[0]
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == ["Auth0 User Admin"]
    assert notices(at) == [STATE_MISMATCH]
    assert code_exchanges(fresh_tenant) == 0
    assert "POST /oauth/token" not in fresh_tenant.stats()["requests"]
    assert [(e.actor_sub, e.state, e.message) for e in refused_sign_ins(app_env)] == [
        ("unknown", "error", STATE_MISMATCH)
    ]


@pytest.mark.case("3 hostile sign-in")
def test_a_code_minted_for_another_sessions_nonce_is_refused(app_env, fresh_tenant, monkeypatch):
    """A real code from the dev tenant's /authorize, for this session's state and PKCE but another nonce."""
    popup = FakePopup(email="admin@example.com", authorize_params={"nonce": "another-sessions-nonce"})
    popup.install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert "nonce=another-sessions-nonce" not in popup.urls[0]  # the app sent its own nonce
    assert code_exchanges(fresh_tenant) == 1  # the exchange itself succeeded
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == ["Auth0 User Admin"]
    assert notices(at) == [NOT_THIS_SESSION]
    assert [(e.state, e.message) for e in refused_sign_ins(app_env)] == [("error", NOT_THIS_SESSION)]


@pytest.mark.case("3 hostile sign-in")
def test_replayed_code_gives_no_session(app_env, monkeypatch):
    first = FakePopup(email="admin@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    code = first.results[0]["code"]
    # A second browser session replays the first one's code with its own state.
    replay = FakePopup(email="admin@example.com", tamper=lambda r: {**r, "code": code}).install(monkeypatch)
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert replay.results and IDENTITY_KEY not in other.session_state
    assert any("Sign-in failed" in i.value for i in other.info)
    assert at.session_state[IDENTITY_KEY].email == "admin@example.com"


@pytest.mark.case("3 hostile sign-in")
def test_code_issued_to_another_client_gives_no_session(app_env, fresh_tenant, monkeypatch):
    def foreign_code(result: dict) -> dict:
        url = (
            f"{fresh_tenant.base_url}/authorize?response_type=code&client_id=no-grant&state=s"
            "&redirect_uri=http%3A%2F%2Flocalhost%3A8501%2Fcomponent%2Fstreamlit_oauth.authorize_button%2Findex.html"
        )
        return {**result, "code": authorize(url, email="admin@example.com", password="devtenant")["code"]}

    FakePopup(email="admin@example.com", tamper=foreign_code).install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert IDENTITY_KEY not in at.session_state
    assert any("Sign-in failed" in visible(i.value) for i in at.info)


@pytest.mark.case("3 hostile sign-in")
def test_blocked_user_cannot_sign_in(app_env, fresh_tenant, monkeypatch):
    victim = fresh_tenant.create_user(
        email="blocked.staff@example.com", password="devtenant", roles=["User Admin"]
    )
    token = fresh_tenant.management_token()
    httpx.patch(
        f"{fresh_tenant.base_url}/api/v2/users/{victim['user_id']}",
        json={"blocked": True},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()
    FakePopup(email="blocked.staff@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == ["Auth0 User Admin"]


FORGED_ID_TOKENS = {
    "wrong_key": "Sign-in failed: the ID token is not valid (Signature verification failed).",
    "unknown_kid": "Sign-in failed: the ID token was signed with a key Auth0 does not publish.",
    "alg_none": "Sign-in failed: the ID token is not valid (The specified alg value is not allowed).",
    "hs256_public_key": "Sign-in failed: the ID token is not valid (The specified alg value is not allowed).",
    "wrong_issuer": "Sign-in failed: the ID token comes from another Auth0 tenant.",
    "wrong_audience": "Sign-in failed: the ID token was issued for another application.",
    "expired": "Sign-in failed: the ID token has expired. Sign in again.",
    "not_yet_valid": "Sign-in failed: the ID token is not valid yet (check this server's clock).",
    "wrong_nonce": NOT_THIS_SESSION,
    "no_nonce": NOT_THIS_SESSION,
    "azp_mismatch": "Sign-in failed: the ID token names another application as its recipient.",
    "aud_list_without_azp": "Sign-in failed: the ID token names another application as its recipient.",
    "iat_too_old": "Sign-in failed: the ID token was issued more than 10 minutes ago. Sign in again.",
    "no_sub": 'Sign-in failed: the ID token is not valid (Token is missing the "sub" claim).',
}


@pytest.mark.case("3 hostile sign-in")
@pytest.mark.parametrize("forgery", list(FORGED_ID_TOKENS))
def test_a_forged_id_token_from_the_token_endpoint_gives_no_session(
    app_env, fresh_tenant, monkeypatch, forgery
):
    """The dev tenant's token endpoint answers the real exchange with a forged ID token."""
    fresh_tenant.add_fault(path="/oauth/token", id_token={"forge": forgery})
    FakePopup(email="admin@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert fresh_tenant.faults() == []  # the forged token was handed out
    assert IDENTITY_KEY not in at.session_state
    assert [t.value for t in at.title] == ["Auth0 User Admin"]
    assert notices(at) == [FORGED_ID_TOKENS[forgery]]
    assert management_calls(fresh_tenant) == 0  # no role lookup for an unverified person


@pytest.mark.case("3 hostile sign-in")
def test_refused_sign_ins_are_written_to_the_audit_log(sign_in, app_env, fresh_tenant, monkeypatch):
    staff = sign_in("staff")
    assert [t.value for t in staff.title] == ["No access"]
    fresh_tenant.add_fault(path="/oauth/token", id_token={"forge": "wrong_audience"})
    FakePopup(email="admin@example.com").install(monkeypatch)
    forged = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert IDENTITY_KEY not in forged.session_state
    staff_sub = next(u["user_id"] for u in fresh_tenant.users() if u["email"] == "staff@example.com")
    rows = sorted(refused_sign_ins(app_env), key=lambda e: e.id)
    assert [(e.action, e.state, e.actor_sub, e.actor_email, e.message) for e in rows] == [
        ("sign_in_refused", "error", staff_sub, "staff@example.com", "no admin or viewer role"),
        (
            "sign_in_refused",
            "error",
            "unknown",
            None,
            "Sign-in failed: the ID token was issued for another application.",
        ),
    ]


def test_an_account_holding_both_roles_is_an_admin(sign_in, fresh_tenant):
    fresh_tenant.create_user(
        email="both.roles@example.com",
        password="devtenant",
        name="Bo Both",
        roles=["User Viewer", "User Admin"],
    )
    at = sign_in("both.roles@example.com")
    assert not at.exception
    assert at.session_state[IDENTITY_KEY].role is Role.ADMIN
    assert ":red-badge[Admin]" in at.markdown[0].value
    assert [t.value for t in at.title] == ["Users"]
    assert any(b.key and b.key.startswith("delete:") for b in at.button)  # admin controls on the cards
    assert any(b.key and b.key.startswith("block:") for b in at.button)


def test_sign_in_is_offered_at_the_configured_address_only():
    from admin_core.auth import redirect_uri_for_page
    from admin_core.settings import load_settings

    settings = load_settings(
        {"AUTH0_DOMAIN": "acme.eu.auth0.com", "AUTH0_CLIENT_ID": "c", "AUTH0_CLIENT_SECRET": "s"},
        dotenv_path=None,
    )
    callback = "/component/streamlit_oauth.authorize_button/index.html"
    assert redirect_uri_for_page(settings, None) == "http://localhost:8501" + callback
    assert redirect_uri_for_page(settings, "localhost:8501") == "http://localhost:8501" + callback
    assert redirect_uri_for_page(settings, "127.0.0.1:8501") == "http://127.0.0.1:8501" + callback
    assert redirect_uri_for_page(settings, "intranet-alias:8501") is None
    assert redirect_uri_for_page(settings, "127.0.0.1:9999") is None
