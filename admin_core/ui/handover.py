"""What the sign-in screen says to a browser whose server stopped and whose websocket reconnected here.

Streamlit keeps a session in one process. Behind the cluster's proxy (`deploy/nginx/`), when that process
dies the browser's websocket reconnects through the proxy to another instance, where it is a new session,
signed out. The proxy puts the port of the instance that served each page load in the `stserver` cookie
(on HTML page loads only, so what the page fetches while it reconnects does not overwrite it); the websocket
request carries it. A first run whose cookie names another port than this server's own came from an
instance that stopped, and is told so once, instead of finding itself signed out without a word.

Only a port is compared, so this is safe for any deployment: without the cookie (one instance, another
proxy) or with the same port on every host (Kubernetes) nothing is said.
"""

from __future__ import annotations

import streamlit as st

SERVER_COOKIE = "stserver"
SERVER_STOPPED = "The server you were on stopped, so you are on another one now: sign in again."
_CHECKED_KEY = "handover.checked"


def served_elsewhere(cookie_value: str | None, own_port: object) -> bool:
    """Whether the `stserver` cookie names another server port than `own_port`."""
    value = (cookie_value or "").strip()
    try:
        return value.isdigit() and int(value) != int(str(own_port))
    except ValueError:
        return False


def moved_here_notice() -> str | None:
    """SERVER_STOPPED on the first run of a session that reconnected here from a stopped instance, else None."""
    if st.session_state.get(_CHECKED_KEY):
        return None
    st.session_state[_CHECKED_KEY] = True
    try:
        cookie = st.context.cookies.get(SERVER_COOKIE)
        own_port = st.get_option("server.port")
    except Exception:  # no request context (AppTest, bare mode)
        return None
    return SERVER_STOPPED if served_elsewhere(cookie, own_port) else None
