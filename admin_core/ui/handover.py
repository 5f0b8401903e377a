"""What the sign-in screen says to a browser whose server stopped and whose websocket reconnected here.

Streamlit keeps a session in one process. Behind the cluster's proxy (`deploy/nginx/`), when that process
dies the browser's websocket reconnects through the proxy to another instance, where it is a new session,
signed out. The proxy puts the port of the instance that served each page load in the `stserver` cookie
(on HTML page loads only, so what the page fetches while it reconnects does not overwrite it); the websocket
request carries it. A first run whose cookie names another port than this server's own came from an
instance that stopped, and is told so once, instead of finding itself signed out without a word.

Only a port is compared, so this is safe for any deployment: without the cookie (one instance, another
proxy) or with the same port on every host (Kubernetes) nothing is said.

An idle session is told too (`reconnect_watch`): Streamlit 1.67's browser code, on a websocket reconnect,
asks for a script run only when a run was in flight, a fragment ran last, or the page has a fragment with
`run_every` (`handleConnectionStateChanged` in static/js/index.*.js). Without a run, a session whose
instance died (SIGKILL) reconnected to the other instance and kept its old screen without a word until the
person clicked something. Every signed-in page therefore holds an invisible fragment with a long
`run_every`: it draws nothing (an empty container is not rendered), and its own reruns (at most one per
WATCH_EVERY; the browser restarts the timer on every full run) run only its empty body, not app.py: no
gate, so no activity for SESSION_IDLE_MINUTES, and no page rerun.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

SERVER_COOKIE = "stserver"
SERVER_STOPPED = "The server you were on stopped, so you are on another one now: sign in again."
_CHECKED_KEY = "handover.checked"
WATCH_KEY = "handover.watch"
SIGN_IN_WATCH_KEY = "handover.watch.sign_in"  # its own key: a sign-in finished in a run draws both
WATCH_EVERY = timedelta(hours=12)  # long: the timer only has to exist; it restarts on every full run


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


@st.fragment(run_every=WATCH_EVERY, key=WATCH_KEY)
def _watch() -> None:
    """Nothing: the fragment exists so that a reconnected browser asks for a script run (module doc)."""


def reconnect_watch() -> None:
    """On every signed-in page: makes a browser whose websocket reconnects (to another instance, after its
    own was killed) rerun the script at once, so the sign-in screen tells it SERVER_STOPPED (module doc)."""
    _watch()


@st.fragment(run_every=WATCH_EVERY, key=SIGN_IN_WATCH_KEY)
def _sign_in_watch() -> None:
    """Nothing, as `_watch`, for the sign-in screen."""


def sign_in_watch() -> None:
    """On the sign-in screen (inside its slot, taken off with it): a browser left on the sign-in screen of an
    instance that was killed reruns at once when it reconnects, and gets a new sign-in button from the live
    instance. The old one's popup would come back with the state of a session that died with its instance,
    and be refused as a mismatch ("try again") on its first click."""
    _sign_in_watch()
