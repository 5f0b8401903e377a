"""Sign-in and roles: the gate every page passes before it shows anything or calls the Management API.

Sign-in is Auth0's authorization code flow with PKCE through streamlit-oauth's popup button; the ID token
is verified (admin_core.tokens) before anything in it is trusted, and the person's Auth0 roles decide what
they may do. Only verified claims live in `st.session_state`; raw tokens never leave this module.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from httpx_oauth.oauth2 import OAuth2
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_oauth import OAuth2Component, StreamlitOauthError

from admin_core import diagnose, runtime
from admin_core.audit import Actor
from admin_core.errors import AdminError, NotAllowed, SignInError
from admin_core.settings import STREAMLIT_OAUTH_CALLBACK_PATH, Settings, SettingsError

log = logging.getLogger(__name__)

IDENTITY_KEY = "auth.identity"
NONCE_KEY = "auth.nonce"
ATTEMPT_KEY = "auth.attempt"
NOTICE_KEY = "auth.notice"
LOGGED_OUT_KEY = "auth.logged_out"
WELCOME_KEY = "auth.welcome"  # set by a successful sign-in; the header's "Signed in as" toast pops it
END_AUTH0_SESSION_KEY = "auth.end_auth0_session"
LAST_SEEN_KEY = "auth.last_seen"  # time.time() of this session's last run while signed in
LIMITS_KEY = "auth.session_limits"  # (SESSION_MAX_HOURS, SESSION_IDLE_MINUTES) for this sign-in
SCOPE = "openid profile email"


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"
    NONE = "none"


@dataclass(frozen=True)
class Identity:
    """The signed-in person: verified ID token claims plus the role read from Auth0."""

    sub: str
    email: str | None
    name: str | None
    picture: str | None
    expires_at: int
    role: Role
    role_error: str | None = None
    # When the person signed in (time.time()); SESSION_MAX_HOURS counts from here.
    signed_in_at: float = field(default_factory=time.time)

    @property
    def can_change(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_view(self) -> bool:
        return self.role in (Role.ADMIN, Role.VIEWER)

    @property
    def label(self) -> str:
        return self.name or self.email or self.sub

    @property
    def actor(self) -> Actor:
        return Actor(sub=self.sub, email=self.email)


def role_from_names(names: list[str], settings: Settings) -> Role:
    """Admin wins over viewer; anything else is no access."""
    if settings.admin_role in names:
        return Role.ADMIN
    if settings.viewer_role in names:
        return Role.VIEWER
    return Role.NONE


# --- session -----------------------------------------------------------------------------------------


SESSION_ENDED = "Your session has ended. Sign in again to continue."


def _amount(value: float, unit: str) -> str:
    number = f"{value:g}"
    return f"{number} {unit}" if number == "1" else f"{number} {unit}s"


def _session_limits() -> tuple[float, float]:
    """(SESSION_MAX_HOURS, SESSION_IDLE_MINUTES), read once per sign-in and kept in the session (a warm
    rerun checks them several times; the settings cache lookup costs ~35 us each); their defaults while
    the settings cannot be read (the gate then explains the settings)."""
    limits = st.session_state.get(LIMITS_KEY)
    if limits is None:
        try:
            settings = runtime.get_settings()
        except SettingsError:
            return 8.0, 30.0
        limits = st.session_state[LIMITS_KEY] = (settings.session_max_hours, settings.session_idle_minutes)
    return limits


def _why_ended(identity: Identity, now: float) -> str | None:
    """Which limit ends this session now, in the words the sign-in screen shows; None while it lasts."""
    if now >= identity.expires_at:
        return SESSION_ENDED
    max_hours, idle_minutes = _session_limits()
    if now - identity.signed_in_at >= max_hours * 3600:
        return (
            f"You were signed out: sessions last at most {_amount(max_hours, 'hour')}. "
            "Sign in again to continue."
        )
    last_seen = st.session_state.get(LAST_SEEN_KEY)
    if isinstance(last_seen, int | float) and now - last_seen >= idle_minutes * 60:
        return (
            f"You were signed out after {_amount(idle_minutes, 'minute')} without activity. "
            "Sign in again to continue."
        )
    return None


def current_identity() -> Identity | None:
    """The signed-in person, or None. A session ends here when its ID token has expired, when it is older
    than SESSION_MAX_HOURS, or when its last run is SESSION_IDLE_MINUTES ago; every run counts as activity
    (Streamlit runs the script only when the person does something)."""
    identity = st.session_state.get(IDENTITY_KEY)
    if not isinstance(identity, Identity):
        return None
    now = time.time()
    why = _why_ended(identity, now)
    if why is not None:
        end_session(why)
        return None
    st.session_state[LAST_SEEN_KEY] = now
    return identity


def end_session(notice: str) -> None:
    """End this session without the person asking (a limit, a block in Auth0); the sign-in screen shows
    `notice`, and the next sign-in asks for the password again."""
    st.session_state.pop(IDENTITY_KEY, None)
    st.session_state.pop(LAST_SEEN_KEY, None)
    st.session_state.pop(LIMITS_KEY, None)
    # What the click that found the session ended asked for (a Block, a Delete, via on_click callbacks
    # that run before this check) must not be carried out after the next sign-in.
    _forget_app_state()
    st.session_state[NOTICE_KEY] = notice
    if notice != SESSION_ENDED:
        st.session_state[LOGGED_OUT_KEY] = True


def rerun_if_session_ended() -> None:
    """Where a change is about to be made: if this session has ended, rerun the whole app, so the gate
    shows the sign-in screen. A click inside a dialog reruns only the dialog and never passes the gate in
    app.py; without this it ended in an uncaught NotAllowed on the error screen."""
    if get_script_run_ctx() is not None and current_identity() is None:
        st.rerun(scope="app")


def require_session() -> Identity:
    """The live identity, checked now: for code that can run without the page's gate (a dialog's own
    rerun runs only the dialog, with the identity the page captured on its last full run, possibly
    before a logout or a timeout). A session that has ended reruns the whole app (the sign-in screen)."""
    identity = current_identity()
    if identity is None or not identity.can_view:
        if get_script_run_ctx() is not None:
            st.rerun(scope="app")
        raise NotAllowed("Your session has ended. Sign in again.")
    return identity


def require_change() -> Identity:
    """At the press of a button that changes users: the live identity, which must be an admin's."""
    identity = require_session()
    if not identity.can_change:
        raise NotAllowed("Only admins can change users.")
    return identity


def note_role(identity: Identity, role: Role) -> None:
    """Auth0 now gives this person another role: the session follows (the page shows what they may do)."""
    if get_script_run_ctx() is None:
        return
    current = st.session_state.get(IDENTITY_KEY)
    if isinstance(current, Identity) and current.sub == identity.sub and current.role is not role:
        st.session_state[IDENTITY_KEY] = replace(current, role=role)


def end_session_of(identity: Identity, notice: str) -> None:
    """End the session of this person, when it is the one running (Auth0 blocked them)."""
    if get_script_run_ctx() is None:
        return
    current = st.session_state.get(IDENTITY_KEY)
    if isinstance(current, Identity) and current.sub == identity.sub:
        end_session(notice)


def _forget_app_state() -> None:
    """Drop everything the pages kept in the session (pending actions, dialogs, widget values)."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and not key.startswith("auth."):
            del st.session_state[key]


def _record(identity_or_actor: Actor, action: str, *, ok: bool = True, message: str | None = None) -> None:
    """Sign-in events are a record, not a precondition: a failing audit database must not lock people out."""
    try:
        runtime.get_audit().record(actor=identity_or_actor, action=action, ok=ok, message=message)
    except Exception as exc:  # the audit store's own errors and anything else
        log.warning("could not write the %s audit event: %s", action, getattr(exc, "message", exc))


def sign_out() -> None:
    """End the app session (callback of the Log out button); the page then ends the Auth0 session too."""
    identity = st.session_state.pop(IDENTITY_KEY, None)
    st.session_state.pop(LAST_SEEN_KEY, None)
    st.session_state.pop(LIMITS_KEY, None)
    if isinstance(identity, Identity):
        _record(identity.actor, "logout")
    _forget_app_state()
    st.session_state[LOGGED_OUT_KEY] = True
    st.session_state[END_AUTH0_SESSION_KEY] = True
    st.session_state[NOTICE_KEY] = "You have signed out."


def _complete_sign_in(settings: Settings, token: dict, nonce: str) -> Identity:
    claims = runtime.get_verifier().verify(token.get("id_token"), nonce=nonce)
    sub = claims["sub"]
    role, role_error = Role.NONE, None
    try:
        role = role_from_names(runtime.get_directory().role_names(sub), settings)
    except AdminError as exc:
        # Fail closed: without a role lookup nobody gets access.
        role_error = f"Your roles could not be read from Auth0, so access is denied for now. {exc.message}"
    return Identity(
        sub=sub,
        email=claims.get("email"),
        name=claims.get("name"),
        picture=claims.get("picture"),
        expires_at=int(claims["exp"]),
        role=role,
        role_error=role_error,
    )


# --- redirect URI and origin -------------------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1", "[::1]")


def redirect_uri_for_page(settings: Settings, request_host: str | None) -> str | None:
    """The callback URL for the host this page was opened under, or None when sign-in cannot work here.

    streamlit-oauth's popup reports back only from the page's own origin. `localhost` and `127.0.0.1` on
    the configured port are the same machine, so the callback follows the host the person used; any
    other host would leave the popup open forever, so the person is sent to APP_URL instead.
    """
    configured = urlsplit(settings.app_url)
    if not request_host or request_host.lower() == configured.netloc.lower():
        return settings.redirect_uri
    asked = urlsplit(f"//{request_host}")
    if (
        _is_loopback(asked.hostname)
        and _is_loopback(configured.hostname)
        and (asked.port or 80) == (configured.port or 80)
    ):
        return f"{configured.scheme}://{request_host}{configured.path}{STREAMLIT_OAUTH_CALLBACK_PATH}"
    return None


def request_host(headers, *, trust_proxy_headers: bool) -> str | None:
    """The host the page was opened under. `X-Forwarded-Host` counts only behind a proxy that sets it
    (TRUST_PROXY_HEADERS): without one, any browser or script can send it and pick the callback host."""
    if trust_proxy_headers:
        forwarded = (headers.get("X-Forwarded-Host") or "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return headers.get("Host") or None


def _request_host() -> str | None:
    try:
        headers = st.context.headers
        trust = runtime.get_settings().trust_proxy_headers
        return request_host(headers, trust_proxy_headers=trust)
    except Exception:  # no request context (AppTest, bare mode)
        return None


# --- the sign-in screen ------------------------------------------------------------------------------


class _HeldExchange(OAuth2):
    """The httpx-oauth client streamlit-oauth drives, holding back the code exchange for a state check.

    streamlit-oauth compares the callback's `state` with the one it sent only when the callback carries a
    `state`, and exchanges the code right after. This client remembers the state put into the
    authorization URL and, when streamlit-oauth asks for the exchange, only keeps the code; `exchange()`
    runs it once `_sign_in_button` has seen that the callback's state is the one sent. So a result without
    state, or with another one, is refused before its code is exchanged (and the library is not forked).
    """

    sent_state: str | None = None
    held: tuple[str, str, str | None] | None = None

    async def get_authorization_url(self, redirect_uri, state=None, *args, **kwargs):
        self.sent_state = state
        return await super().get_authorization_url(redirect_uri, state, *args, **kwargs)

    async def get_access_token(self, code, redirect_uri, code_verifier=None):
        self.held = (code, redirect_uri, code_verifier)
        return {}

    def exchange(self) -> dict:
        code, redirect_uri, code_verifier = self.held
        return asyncio.run(OAuth2.get_access_token(self, code, redirect_uri, code_verifier=code_verifier))


def _oauth_component(settings: Settings) -> OAuth2Component:
    client = _HeldExchange(
        settings.client_id,
        settings.client_secret,
        settings.authorize_endpoint,
        settings.token_endpoint,
        token_endpoint_auth_method="client_secret_basic",
    )
    return OAuth2Component(client=client)


def render_sign_in(settings: Settings) -> None:
    """The sign-in screen: the Auth0 button, and the dev accounts when talking to the local dev tenant."""
    from admin_core.ui import chrome  # local: chrome imports this module

    notice = st.session_state.pop(NOTICE_KEY, None)
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Auth0 User Admin")
        st.caption("Find, inspect, block and delete the users of your Auth0 tenant.")
        chrome.dev_banner(settings)
        if notice:
            chrome.show_error(notice, level="info")  # it can carry Auth0's own words
        if st.session_state.pop(END_AUTH0_SESSION_KEY, False):
            chrome.logout_redirect(settings)
            return
        redirect_uri = redirect_uri_for_page(settings, _request_host())
        if redirect_uri is None:
            st.warning(
                f"Sign-in only works at the app's configured address. Open it at {settings.app_url} "
                "(or set APP_URL to the address you use and register its callback URL in Auth0)."
            )
            st.link_button("Open the app at its configured address", settings.app_url, type="primary")
            return
        problem = _callback_problem(settings, redirect_uri)
        if problem:
            chrome.show_error(problem)
            return
        _sign_in_button(settings, redirect_uri)
        if settings.is_dev_tenant:
            chrome.dev_accounts_hint(settings)


@st.cache_data(ttl=300, show_spinner=False)
def _callback_problem(settings: Settings, redirect_uri: str) -> str | None:
    return diagnose.callback_problem(settings, redirect_uri)


STATE_MISMATCH = "Sign-in failed: the answer from Auth0 did not match this sign-in attempt. Try again."


def _sign_in_button(settings: Settings, redirect_uri: str) -> None:
    nonce = st.session_state.setdefault(NONCE_KEY, secrets.token_urlsafe(24))
    attempt = st.session_state.setdefault(ATTEMPT_KEY, 0)
    extras = {"nonce": nonce}
    if st.session_state.get(LOGGED_OUT_KEY):
        extras["prompt"] = "login"  # after a logout, ask for the password even if Auth0 remembers the browser
    component = _oauth_component(settings)
    try:
        result = component.authorize_button(
            "Log in with Auth0",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            key=f"auth0_login_{attempt}",
            pkce="S256",
            extras_params=extras,
            use_container_width=True,
        )
    except StreamlitOauthError:  # an error answer, or a state other than the one sent
        _fail(None, STATE_MISMATCH)
        return
    except Exception as exc:  # building the authorization URL
        _fail(None, _exchange_problem(exc))
        return
    if not result:
        return
    client = component.client
    sent, got = client.sent_state, result.get("state")
    if not sent or not isinstance(got, str) or not hmac.compare_digest(got, sent):
        # streamlit-oauth lets a result without state through; its code was held back, never exchanged.
        _fail(None, STATE_MISMATCH)
        return
    token = {}
    if client.held is not None:
        try:
            token = client.exchange()
        except Exception as exc:  # the code exchange (httpx-oauth) or the network
            _fail(None, _exchange_problem(exc))
            return
    try:
        identity = _complete_sign_in(settings, token, nonce)
    except SignInError as exc:
        _fail(None, exc.message)
        return
    _next_attempt()
    st.session_state.pop(LOGGED_OUT_KEY, None)
    st.session_state[IDENTITY_KEY] = identity
    if identity.can_view:
        st.session_state[WELCOME_KEY] = True
        _record(identity.actor, "sign_in", message=f"role {identity.role.value}")
    else:
        _record(
            identity.actor,
            "sign_in_refused",
            ok=False,
            message=identity.role_error or "no admin or viewer role",
        )
    st.rerun()


def _exchange_problem(exc: Exception) -> str:
    """What went wrong in the code exchange (httpx-oauth raises with the token endpoint's response)."""
    response = getattr(exc, "response", None)
    if response is None:
        return f"Sign-in failed: Auth0 could not be reached to finish the sign-in ({type(exc).__name__}). Try again."
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return diagnose.sign_in_exchange_problem(
        response.status_code, str(body.get("error") or ""), str(body.get("error_description") or "")
    )


def _next_attempt() -> None:
    """A fresh component key, state, PKCE pair and nonce: a code is never offered twice."""
    st.session_state[ATTEMPT_KEY] = st.session_state.get(ATTEMPT_KEY, 0) + 1
    st.session_state[NONCE_KEY] = secrets.token_urlsafe(24)


def _fail(actor: Actor | None, message: str) -> None:
    _next_attempt()
    _record(actor or Actor(sub="unknown", email=None), "sign_in_refused", ok=False, message=message)
    st.session_state[NOTICE_KEY] = message
    st.rerun()


# --- the gate ----------------------------------------------------------------------------------------


ENTERED_VIA_APP_KEY = "auth.entered_via_app"
WANTED_PAGE_KEY = "auth.wanted_page"  # the page file (stem) a direct run was asked for; app.py goes there


@contextmanager
def pages_run_by_app() -> Iterator[str | None]:
    """app.py runs the chosen page inside this; the session then counts as having started from app.py.
    Yields the page (file stem, e.g. "overview") a direct run of a pages/ file was asked for, if any."""
    st.session_state[ENTERED_VIA_APP_KEY] = True
    yield st.session_state.pop(WANTED_PAGE_KEY, None)


def require_access(*, admin: bool = False) -> Identity:
    """First call of every page: the gate, then a start over from app.py if this session never ran it.

    A fresh server process serves `pages/<name>.py` without app.py until some session has called
    st.navigation(); the gate keeps such a run safe, and switching to app.py once the person is signed in
    gives them the header and the menu. The page asked for and the URL's parameters go along, so app.py
    shows that page with that view (a shared link), not its default page.
    """
    identity = gate(admin=admin)
    ctx = get_script_run_ctx()
    if ctx is not None and not st.session_state.get(ENTERED_VIA_APP_KEY):
        main = Path(ctx.main_script_path)
        if main.name == "app.py":
            caller = sys._getframe(1).f_globals.get("__file__")  # the page file that called us
            if caller:
                st.session_state[WANTED_PAGE_KEY] = Path(caller).stem
            st.switch_page(str(main), query_params=st.query_params.to_dict())
    return identity


def gate(*, admin: bool = False) -> Identity:
    """First call of app.py: returns the person, or renders why not and stops the run."""
    identity = current_identity()
    if identity is None:
        # Settings are read here, not on every run: a signed-in session has them (it signed in with them).
        render_sign_in(runtime.settings_or_explain())
        st.stop()
    if not identity.can_view:
        from admin_core.ui import chrome

        chrome.no_access(identity)
        st.stop()
    if admin and not identity.can_change:
        st.error(ADMINS_ONLY)
        _offer_pages_on_a_direct_run()
        st.stop()
    return identity


ADMINS_ONLY = "This page is for admins only. Your role lets you view users, not this page."


# The pages a viewer may open, as files: a fresh server process runs pages/ files without app.py, and there
# st.page_link finds pages by file.
VIEWER_PAGE_FILES = (
    ("pages/users.py", "Users"),
    ("pages/overview.py", "Overview"),
    ("pages/account.py", "Account"),
)


def _offer_pages_on_a_direct_run() -> None:
    """On a fresh server process (a pages/ file run without app.py; see require_access) a viewer at an admin
    page gets links to the pages they may see; with app.py running, app.py's navigation shows `admins_only`
    at that address instead, and this never runs."""
    ctx = get_script_run_ctx()
    if (
        ctx is None
        or Path(ctx.main_script_path).name != "app.py"
        or st.session_state.get(ENTERED_VIA_APP_KEY)
    ):
        return
    st.markdown("You can open:")
    for path, label in VIEWER_PAGE_FILES:
        st.page_link(path, label=label)


def admins_only(pages: list) -> None:
    """What a viewer sees at an admin page's address (a shared link): why not, in words, and the pages they
    may open instead, on that address (not a silent redirect elsewhere)."""
    st.title("Admins only")
    st.error(ADMINS_ONLY)
    st.markdown("You can open:")
    for page in pages:
        st.page_link(page, label=page.title, icon=page.icon)
