"""The gate every run passes: the person, or the screen that says why not (sign-in, settings, no access,
admins only) and a stop. app.py calls `gate`; every page file starts with `require_access`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from admin_core import auth, runtime, timing
from admin_core.auth import Identity
from admin_core.settings import Settings, SettingsError
from admin_core.ui import chrome
from admin_core.ui.signin import sign_in_screen


def settings_or_explain() -> Settings:
    """The settings, or a page explaining what to configure (never a traceback) and a stop."""
    try:
        return runtime.get_settings()
    except SettingsError as exc:
        chrome.not_configured(exc)
        st.stop()
        raise  # unreachable: st.stop() raises


def require_access(*, admin: bool = False) -> Identity:
    """First call of every page: the gate, then a start over from app.py if this session never ran it.

    A fresh server process serves `pages/<name>.py` without app.py until some session has called
    st.navigation(); the gate keeps such a run safe, and switching to app.py once the person is signed in
    gives them the header and the menu. The page asked for and the URL's parameters go along, so app.py
    shows that page with that view (a shared link), not its default page.
    """
    identity = gate(admin=admin)
    ctx = get_script_run_ctx()
    if ctx is not None and not auth.entered_via_app():
        main = Path(ctx.main_script_path)
        if main.name == "app.py":
            caller = sys._getframe(1).f_globals.get("__file__")  # the page file that called us
            if caller:
                auth.remember_wanted_page(caller)
            st.switch_page(str(main), query_params=st.query_params.to_dict())
    return identity


def gate(*, admin: bool = False) -> Identity:
    """First call of app.py: returns the person, or renders why not and stops the run."""
    # One slot, drawn in every run, signed in or not: the sign-in screen is drawn in it, and taken off once
    # the popup's answer has signed the person in, and the same run goes on to draw their page below it. So
    # each element of that page sits at the same place (delta path) in that run as in every later run; had
    # the screen been one element more than a signed-in run draws, every element after it would have moved
    # up one place in the next run, and the browser would have drawn them anew, losing what the person had
    # just done there (the open tab, the role picked: the first change after a sign-in).
    slot = st.empty()
    identity = auth.current_identity()
    if identity is None:
        # Settings are read here, not on every run: a signed-in session has them (it signed in with them).
        with timing.phase("run.sign_in_screen"):
            identity = sign_in_screen(settings_or_explain(), slot)
        if identity is None:
            st.stop()
    if not identity.can_view:
        chrome.no_access(identity)
        st.stop()
    if admin and not identity.can_change:
        chrome.show_error(ADMINS_ONLY)
        _offer_pages_on_a_direct_run()
        st.stop()
    runtime.purge_deleted_if_due()  # undo a delete: kept profiles past their retention, once a day
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
    if ctx is None or Path(ctx.main_script_path).name != "app.py" or auth.entered_via_app():
        return
    st.markdown("You can open:")
    for path, label in VIEWER_PAGE_FILES:
        st.page_link(path, label=label)


def admins_only(pages: list) -> None:
    """What a viewer sees at an admin page's address (a shared link): why not, in words, and the pages they
    may open instead, on that address (not a silent redirect elsewhere)."""
    st.title("Admins only")
    chrome.show_error(ADMINS_ONLY)
    st.markdown("You can open:")
    for page in pages:
        st.page_link(page, label=page.title, icon=page.icon)
