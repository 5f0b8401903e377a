"""Sign-in and roles: the state behind the gate every page passes before it shows anything or calls the
Management API. This module draws nothing: admin_core.ui.signin and admin_core.ui.gate draw the screens
and call it.

Sign-in is Auth0's authorization code flow with PKCE through streamlit-oauth's popup button; the ID token
is verified (admin_core.tokens) before anything in it is trusted, and the person's Auth0 roles decide what
they may do. Only verified claims live in `st.session_state`; raw tokens never leave this module.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import streamlit as st
from httpx_oauth.oauth2 import OAuth2
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_oauth import OAuth2Component, StreamlitOauthError

from admin_core import diagnose, runtime, timing
from admin_core.audit import Actor
from admin_core.errors import AdminError, NotAllowed, SignInError
from admin_core.settings import STREAMLIT_OAUTH_CALLBACK_PATH, Settings, SettingsError, is_loopback
from admin_core.shutdown import DRAIN, RESTARTING

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
RESTARTED_PARAM = "restarted"  # in the address of a session whose instance shut down (SIGTERM)


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
    if DRAIN.draining:  # SIGTERM: this instance stops in a moment; the proxy sends the next run elsewhere
        end_session(RESTARTING)
        st.query_params[RESTARTED_PARAM] = "1"  # survives the reconnect to another instance: take_notice
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
    with timing.phase("sign_in.verify"):
        claims = runtime.get_verifier().verify(token.get("id_token"), nonce=nonce)
    sub = claims["sub"]
    role, role_error = Role.NONE, None
    try:
        with timing.phase("sign_in.roles"):
            names = runtime.get_directory().role_names(sub)
        role = role_from_names(names, settings)
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
        is_loopback(asked.hostname)
        and is_loopback(configured.hostname)
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


# --- the sign-in flow (admin_core.ui.signin draws the screen and the button, and calls these) -----------


class _HeldExchange(OAuth2):
    """The httpx-oauth client streamlit-oauth drives, holding back the code exchange for a state check.

    streamlit-oauth compares the callback's `state` with the one it sent only when the callback carries a
    `state`, and exchanges the code right after. This client remembers the state put into the
    authorization URL and, when streamlit-oauth asks for the exchange, only keeps the code; `exchange()`
    runs it once `finish_sign_in` has seen that the callback's state is the one sent. So a result without
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

    def get_httpx_client(self) -> httpx.AsyncClient:
        # httpx-oauth builds a new client per call, and httpx a new TLS context per client (the CA bundle
        # read and parsed: 100-250 ms of each sign-in here, bench/signin.py); the context is built once.
        return httpx.AsyncClient(verify=_tls_context())

    def exchange(self) -> dict:
        if self.held is None:
            raise RuntimeError("no authorization code was held for the exchange")
        code, redirect_uri, code_verifier = self.held
        return asyncio.run(OAuth2.get_access_token(self, code, redirect_uri, code_verifier=code_verifier))


@cache
def _tls_context() -> ssl.SSLContext:
    """The code exchange's TLS context (httpx's default: certifi's CAs, certificates and host checked),
    built once per process; an SSLContext is safe to share between connections and threads."""
    return httpx.create_ssl_context()


def _oauth_component(settings: Settings) -> OAuth2Component:
    client = _HeldExchange(
        settings.client_id,
        settings.client_secret,
        settings.authorize_endpoint,
        settings.token_endpoint,
        token_endpoint_auth_method="client_secret_basic",
    )
    return OAuth2Component(client=client)


def server_restarting() -> bool:
    """This instance is shutting down (SIGTERM): nobody should sign in here any more."""
    return DRAIN.draining


def take_notice() -> str | None:
    """What the sign-in screen says once (a session that ended, a refused sign-in, a logout). A session
    that reconnected from an instance that shut down carries `?restarted=1` in its address (set there by
    current_identity): it reads RESTARTING here, on the instance it landed on."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if RESTARTED_PARAM in st.query_params:
        del st.query_params[RESTARTED_PARAM]
        if DRAIN.draining:  # still on the instance that is stopping: keep it for the reconnect
            st.query_params[RESTARTED_PARAM] = "1"
        notice = notice or RESTARTING
    return notice


def take_end_auth0_session() -> bool:
    """True once after an app logout: the sign-in screen then ends the Auth0 session in this browser."""
    return bool(st.session_state.pop(END_AUTH0_SESSION_KEY, False))


def page_redirect_uri(settings: Settings) -> str | None:
    """`redirect_uri_for_page` for the host of the request running now."""
    return redirect_uri_for_page(settings, _request_host())


@st.cache_data(ttl=300, show_spinner=False)
def callback_problem(settings: Settings, redirect_uri: str) -> str | None:
    """Why Auth0 would refuse this callback URL (admin_core.diagnose), asked at most every 5 minutes."""
    return diagnose.callback_problem(settings, redirect_uri)


STATE_MISMATCH = "Sign-in failed: the answer from Auth0 did not match this sign-in attempt. Try again."


@dataclass(frozen=True)
class SignInAttempt:
    """What the sign-in button is drawn with: a fresh component key, the nonce and the extra parameters
    for the authorization URL, and the component whose client holds the code back (`_HeldExchange`)."""

    key: str
    nonce: str
    extras: dict[str, str]
    component: OAuth2Component


def sign_in_attempt(settings: Settings) -> SignInAttempt:
    """The current sign-in attempt (its nonce and key live in the session until it ends)."""
    nonce = st.session_state.setdefault(NONCE_KEY, secrets.token_urlsafe(24))
    attempt = st.session_state.setdefault(ATTEMPT_KEY, 0)
    extras = {"nonce": nonce}
    if st.session_state.get(LOGGED_OUT_KEY):
        extras["prompt"] = "login"  # after a logout, ask for the password even if Auth0 remembers the browser
    return SignInAttempt(
        key=f"auth0_login_{attempt}", nonce=nonce, extras=extras, component=_oauth_component(settings)
    )


def refuse_button_error(exc: Exception) -> None:
    """The button itself raised: an error answer or a state other than the one sent (StreamlitOauthError),
    or building the authorization URL failed. The attempt ends, and the sign-in screen says why."""
    if isinstance(exc, StreamlitOauthError):
        _fail(None, STATE_MISMATCH)
    else:
        _fail(None, _exchange_problem(exc))


def finish_sign_in(settings: Settings, attempt: SignInAttempt, result: dict) -> Identity | None:
    """The button's result: check its state, exchange the held code, verify the ID token, read the role,
    and record the sign-in. Returns the person, whom this same run goes on to show their page (or the
    no-access screen); a refused sign-in reruns to the sign-in screen with its reason and returns None.

    No st.rerun() after a sign-in: a second run of the whole script waited for Streamlit to end this one
    (its full garbage collection after every run) and start again before the page could be drawn."""
    client = attempt.component.client
    sent, got = client.sent_state, result.get("state")
    if not sent or not isinstance(got, str) or not hmac.compare_digest(got, sent):
        # streamlit-oauth lets a result without state through; its code was held back, never exchanged.
        _fail(None, STATE_MISMATCH)
        return None
    token = {}
    if client.held is not None:
        try:
            with timing.phase("sign_in.exchange"):
                token = client.exchange()
        except Exception as exc:  # the code exchange (httpx-oauth) or the network
            _fail(None, _exchange_problem(exc))
            return None
    try:
        identity = _complete_sign_in(settings, token, attempt.nonce)
    except SignInError as exc:
        _fail(None, exc.message)
        return None
    _next_attempt()
    st.session_state.pop(LOGGED_OUT_KEY, None)
    st.session_state[IDENTITY_KEY] = identity
    if identity.can_view:
        st.session_state[WELCOME_KEY] = True
        with timing.phase("sign_in.record"):
            _record(identity.actor, "sign_in", message=f"role {identity.role.value}")
    else:
        _record(
            identity.actor,
            "sign_in_refused",
            ok=False,
            message=identity.role_error or "no admin or viewer role",
        )
    return identity


UNREACHABLE_AT_SIGN_IN = "Sign-in failed: Auth0 could not be reached to finish the sign-in. Try again."


def _exchange_problem(exc: Exception) -> str:
    """What went wrong in the code exchange (httpx-oauth raises with the token endpoint's response)."""
    response = getattr(exc, "response", None)
    if response is None:
        # The exception's class and text are for the server log; a person reads a sentence.
        log.warning("sign-in code exchange failed: %s: %s", type(exc).__name__, exc)
        return UNREACHABLE_AT_SIGN_IN
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


# --- where a run started (admin_core.ui.gate guards the pages with these) ----------------------------


ENTERED_VIA_APP_KEY = "auth.entered_via_app"
WANTED_PAGE_KEY = "auth.wanted_page"  # the page file (stem) a direct run was asked for; app.py goes there


@contextmanager
def pages_run_by_app() -> Iterator[str | None]:
    """app.py runs the chosen page inside this; the session then counts as having started from app.py.
    Yields the page (file stem, e.g. "overview") a direct run of a pages/ file was asked for, if any."""
    st.session_state[ENTERED_VIA_APP_KEY] = True
    yield st.session_state.pop(WANTED_PAGE_KEY, None)


def entered_via_app() -> bool:
    """Whether this session has run a page through app.py (see `pages_run_by_app`)."""
    return bool(st.session_state.get(ENTERED_VIA_APP_KEY))


def remember_wanted_page(page_file: str) -> None:
    """A direct run of `pages/<stem>.py` hands over to app.py, which then opens that page."""
    st.session_state[WANTED_PAGE_KEY] = Path(page_file).stem
