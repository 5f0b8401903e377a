"""The sign-in screen and streamlit-oauth's button; the flow behind them (state, nonce, exchange, roles,
audit record) is admin_core.auth's."""

from __future__ import annotations

import importlib
import logging
import threading

import streamlit as st
from streamlit import runtime as streamlit_runtime
from streamlit.delta_generator import DeltaGenerator

from admin_core import auth, runtime, timing
from admin_core.auth import Identity
from admin_core.settings import Settings
from admin_core.ui import chrome, handover
from admin_core.ui.preload import preload_signed_in_widgets

log = logging.getLogger(__name__)


def sign_in_screen(settings: Settings, slot: DeltaGenerator) -> Identity | None:
    """The sign-in screen, drawn in `slot` (an `st.empty` the gate draws in every run): the Auth0 button,
    and the dev accounts when talking to the local dev tenant.

    Returns the person when their sign-in finished in this run (the popup's answer arrived): the screen is
    then taken off the page (the slot emptied) and the same run goes on to draw the signed-in page, without
    a second run of the whole script. Else None."""
    with slot.container():
        handover.sign_in_watch()
        identity = _screen(settings)
    if identity is not None:
        slot.empty()
    return identity


def _screen(settings: Settings) -> Identity | None:
    moved = handover.moved_here_notice()  # a browser whose server stopped (make cluster, deploy/)
    notice = auth.take_notice() or moved
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Auth0 User Admin")
        st.caption("Find, inspect, block and delete the users of your Auth0 tenant.")
        chrome.dev_banner(settings)
        if notice:
            chrome.show_error(notice, level="info")  # it can carry Auth0's own words
        if auth.server_restarting():
            # This instance stops in a second: no sign-in component here (it would fail to load and stay
            # broken after the browser reconnects elsewhere). Streamlit's browser code reconnects by itself
            # but runs nothing until the next click: this button's click runs the app on the instance the
            # browser is connected to by then, which reads the notice from the address (?restarted=1).
            st.button("Sign in again", key="auth.restart_continue", type="primary")
            return None
        if auth.take_end_auth0_session():
            chrome.logout_redirect(settings)
            return None
        redirect_uri = auth.page_redirect_uri(settings)
        if redirect_uri is None:
            st.warning(
                f"Sign-in only works at the app's configured address. Open it at {settings.app_url} "
                "(or set APP_URL to the address you use and register its callback URL in Auth0)."
            )
            st.link_button("Open the app at its configured address", settings.app_url, type="primary")
            return None
        problem = auth.callback_problem(settings, redirect_uri)
        if problem:
            chrome.show_error(problem)
            return None
        warm_up_once()
        identity = sign_in_button(settings, redirect_uri)
        if identity is not None:
            return identity
        if settings.is_dev_tenant:
            chrome.dev_accounts_hint(settings)
        preload_signed_in_widgets()
    return None


def sign_in_button(settings: Settings, redirect_uri: str) -> Identity | None:
    """streamlit-oauth's popup button (a component); its result goes to `auth.finish_sign_in`."""
    attempt = auth.sign_in_attempt(settings)
    try:
        result = attempt.component.authorize_button(
            "Log in with Auth0",
            redirect_uri=redirect_uri,
            scope=auth.SCOPE,
            key=attempt.key,
            pkce="S256",
            extras_params=attempt.extras,
            use_container_width=True,
        )
    except Exception as exc:  # an error answer, another state, or building the authorization URL
        auth.refuse_button_error(exc)
        return None
    if result:
        return auth.finish_sign_in(settings, attempt, result)
    return None


# --- ready before the person has typed their password (issue 19) ---------------------------------------

# What the signed-in Users page imports on its first run in a process (pandas among them: 1-3 s on a busy
# 2-core machine, which the first sign-in after a start used to wait for).
SIGNED_IN_MODULES = (
    "admin_core.actions",
    "admin_core.csvsafe",
    "admin_core.ui.cards",
    "admin_core.ui.listing",
    "admin_core.ui.pager",
    "admin_core.ui.roles",
)
_warm_up_lock = threading.Lock()
_warm_up_started = False


def warm_up_once() -> None:
    """Once per served process, while the first person is on the sign-in screen: import the signed-in
    page's modules, fetch the JWKS the ID-token check needs, and get the client-credentials token the role
    lookup needs, in a thread of its own. Nothing is read about any user, and no Management API call is
    made. Not under AppTest (no Streamlit runtime): its tests count requests and reset tenants."""
    global _warm_up_started
    if not streamlit_runtime.exists():
        return
    with _warm_up_lock:
        if _warm_up_started:
            return
        _warm_up_started = True
    # The process-wide objects are looked up here, in the script's thread (st.cache_resource).
    verifier, directory = runtime.get_verifier(), runtime.get_directory()
    threading.Thread(target=_warm_up, args=(verifier, directory), name="sign-in-warm-up", daemon=True).start()


def _warm_up(verifier, directory) -> None:
    with timing.phase("warm_up"):
        for name in SIGNED_IN_MODULES:
            importlib.import_module(name)
        verifier.prefetch_keys()
        try:
            directory.warm_token()
        except Exception as exc:  # the role lookup at sign-in asks again and explains in words
            log.info("the client-credentials token could not be fetched ahead of a sign-in: %s", exc)
