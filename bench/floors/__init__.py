"""Floors: bare scripts with the same Streamlit calls as a page, fed from memory (no data access, auth or
caching). Their warm rerun time is what Streamlit itself costs for that output."""

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from admin_core.ui.chrome import PAGE_ICON
from admin_core.ui.handover import reconnect_watch

# Filled by bench.appviews before a floor script runs (AppTest runs scripts in this process).
DATA: dict = {}

APP_DIR = Path(__file__).resolve().parents[2]
# app.py's navigation for an admin: (file, url path, title, icon, visibility), in app.py's order.
MENU = (
    ("pages/users.py", "users", "Users", ":material/group:", "visible"),
    ("pages/overview.py", "overview", "Overview", ":material/monitoring:", "visible"),
    ("pages/audit.py", "audit", "Audit log", ":material/history:", "visible"),
    ("pages/account.py", "account", "Account", ":material/account_circle:", "visible"),
    ("pages/user.py", "user", "Person", ":material/person:", "hidden"),
    ("pages/new_user.py", "new-user", "New user", ":material/person_add:", "visible"),
)


def noop(*_args) -> None:
    pass


def in_app_frame(url_path: str, body: Callable[[], None]) -> None:
    """What app.py renders around every page for a signed-in admin (page config, the menu, the header and
    the dev-tenant banner), then `body` as the page at `url_path`. Keep it in step with app.py and
    admin_core.ui.chrome.header (same calls, same arguments)."""
    st.set_page_config(page_title="Auth0 User Admin", page_icon=PAGE_ICON, layout="wide")

    def page() -> None:
        st.empty()  # the page's own gate (require_access) draws its slot too
        body()

    # app.py's pages for an admin, in its order and with its arguments; the pages not shown are given as
    # the app gives them (its files: st.Page resolves each path on every run), the one shown as `page`.
    pages = [
        st.Page(page if path == url_path else str(APP_DIR / file), title=title, icon=icon, url_path=path,
                default=path == url_path, visibility=visibility)
        for file, path, title, icon, visibility in MENU
    ]  # fmt: skip
    st.empty()  # the gate's sign-in slot (admin_core.ui.gate), drawn in every run, empty once signed in
    st.html(DATA["style"])
    with st.container(horizontal=True, vertical_alignment="center", key="app-header"):
        st.markdown(DATA["who"], width="stretch", wrap=False)
        st.button("Log out", key="header.logout", on_click=noop, icon=":material/logout:")
    if DATA["banner"]:
        st.info(DATA["banner"], icon=":material/science:")
    reconnect_watch()  # app.py's invisible fragment (draws nothing, one auto-rerun message)
    st.navigation(pages, position="top").run()
