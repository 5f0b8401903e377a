"""The sign-in screen and streamlit-oauth's button; the flow behind them (state, nonce, exchange, roles,
audit record) is admin_core.auth's."""

from __future__ import annotations

import streamlit as st

from admin_core import auth
from admin_core.settings import Settings
from admin_core.ui import chrome, handover


def sign_in_screen(settings: Settings) -> None:
    """The sign-in screen: the Auth0 button, and the dev accounts when talking to the local dev tenant."""
    moved = handover.moved_here_notice()  # a browser whose server stopped (make cluster, deploy/)
    notice = auth.take_notice() or moved
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Auth0 User Admin")
        st.caption("Find, inspect, block and delete the users of your Auth0 tenant.")
        chrome.dev_banner(settings)
        if notice:
            chrome.show_error(notice, level="info")  # it can carry Auth0's own words
        if auth.take_end_auth0_session():
            chrome.logout_redirect(settings)
            return
        redirect_uri = auth.page_redirect_uri(settings)
        if redirect_uri is None:
            st.warning(
                f"Sign-in only works at the app's configured address. Open it at {settings.app_url} "
                "(or set APP_URL to the address you use and register its callback URL in Auth0)."
            )
            st.link_button("Open the app at its configured address", settings.app_url, type="primary")
            return
        problem = auth.callback_problem(settings, redirect_uri)
        if problem:
            chrome.show_error(problem)
            return
        sign_in_button(settings, redirect_uri)
        if settings.is_dev_tenant:
            chrome.dev_accounts_hint(settings)


def sign_in_button(settings: Settings, redirect_uri: str) -> None:
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
        return
    if result:
        auth.finish_sign_in(settings, attempt, result)
