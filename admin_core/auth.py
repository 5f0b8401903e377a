"""Sign-in and roles: the gate every page passes before it shows anything or calls the Management API.

Sign-in is Auth0's authorization code flow with PKCE through streamlit-oauth's popup button; the ID token
is verified (admin_core.tokens) before anything in it is trusted, and the person's Auth0 roles decide what
they may do. Only verified claims live in `st.session_state`; raw tokens never leave this module.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from httpx_oauth.oauth2 import OAuth2
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_oauth import OAuth2Component, StreamlitOauthError

from admin_core import diagnose, runtime
from admin_core.audit import Actor
from admin_core.errors import AdminError, SignInError
from admin_core.settings import STREAMLIT_OAUTH_CALLBACK_PATH, Settings

log = logging.getLogger(__name__)

IDENTITY_KEY = "auth.identity"
NONCE_KEY = "auth.nonce"
ATTEMPT_KEY = "auth.attempt"
NOTICE_KEY = "auth.notice"
LOGGED_OUT_KEY = "auth.logged_out"
WELCOME_KEY = "auth.welcome"  # set by a successful sign-in; the header's "Signed in as" toast pops it
END_AUTH0_SESSION_KEY = "auth.end_auth0_session"
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


def current_identity() -> Identity | None:
    """The signed-in person, or None; a session whose ID token has expired ends here."""
    identity = st.session_state.get(IDENTITY_KEY)
    if not isinstance(identity, Identity):
        return None
    if time.time() >= identity.expires_at:
        st.session_state.pop(IDENTITY_KEY, None)
        # What the click that found the session expired asked for (a Block, a Delete, via on_click
        # callbacks that run before this check) must not be carried out after the next sign-in.
        _forget_app_state()
        st.session_state[NOTICE_KEY] = "Your session has ended. Sign in again to continue."
        return None
    return identity


def rerun_if_session_ended() -> None:
    """Where a change is about to be made: if this session's ID token has expired, end the session and rerun
    the whole app, so the gate shows the sign-in screen. A click inside a dialog reruns only the dialog and
    never passes the gate in app.py; without this it ended in an uncaught NotAllowed on the error screen."""
    if get_script_run_ctx() is not None and current_identity() is None:
        st.rerun(scope="app")


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


def _oauth_component(settings: Settings) -> OAuth2Component:
    client = OAuth2(
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
            st.info(notice)
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
            st.error(problem)
            return
        _sign_in_button(settings, redirect_uri)
        if settings.is_dev_tenant:
            chrome.dev_accounts_hint(settings)


@st.cache_data(ttl=300, show_spinner=False)
def _callback_problem(settings: Settings, redirect_uri: str) -> str | None:
    return diagnose.callback_problem(settings, redirect_uri)


def _sign_in_button(settings: Settings, redirect_uri: str) -> None:
    nonce = st.session_state.setdefault(NONCE_KEY, secrets.token_urlsafe(24))
    attempt = st.session_state.setdefault(ATTEMPT_KEY, 0)
    extras = {"nonce": nonce}
    if st.session_state.get(LOGGED_OUT_KEY):
        extras["prompt"] = "login"  # after a logout, ask for the password even if Auth0 remembers the browser
    try:
        result = _oauth_component(settings).authorize_button(
            "Log in with Auth0",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            key=f"auth0_login_{attempt}",
            pkce="S256",
            extras_params=extras,
            use_container_width=True,
        )
    except StreamlitOauthError:
        _fail(None, "Sign-in failed: the answer from Auth0 did not match this sign-in attempt. Try again.")
        return
    except Exception as exc:  # the code exchange (httpx-oauth) or the network
        _fail(None, _exchange_problem(exc))
        return
    if not result:
        return
    token = result.get("token") or {}
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


@contextmanager
def pages_run_by_app() -> Iterator[None]:
    """app.py runs the chosen page inside this; the session then counts as having started from app.py."""
    st.session_state[ENTERED_VIA_APP_KEY] = True
    yield


def require_access(*, admin: bool = False) -> Identity:
    """First call of every page: the gate, then a start over from app.py if this session never ran it.

    A fresh server process serves `pages/<name>.py` without app.py until some session has called
    st.navigation(); the gate keeps such a run safe, and switching to app.py once the person is signed in
    gives them the header and the menu.
    """
    identity = gate(admin=admin)
    ctx = get_script_run_ctx()
    if ctx is not None and not st.session_state.get(ENTERED_VIA_APP_KEY):
        main = Path(ctx.main_script_path)
        if main.name == "app.py":
            st.switch_page(str(main))
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
        st.error("This page is for admins only. Your role lets you view users, not this page.")
        st.stop()
    return identity
