"""The frame around every page: header, dev-tenant banner, no-access and not-configured screens."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import httpx
import streamlit as st

from admin_core.auth import WELCOME_KEY, Identity, sign_out
from admin_core.errors import AppError
from admin_core.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# The browser tab's icon, shipped with the app (Streamlit inlines an SVG file as a data: URL).
PAGE_ICON = str(Path(__file__).resolve().parent / "assets" / "icon.svg")


# Characters that start Markdown anywhere in a line (emphasis, code, link and image brackets, HTML, table
# cells, strikethrough, LaTeX, entities such as `&lt;`): escaped wherever they are.
_MD_INLINE = "\\`*_[]<|~$&"
# What starts a block only at the beginning of a line (heading, quote, list, rule, ordered list `1.`):
# escaped there. Line breaks become spaces, so the text's start is its only line start.
_MD_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|\d{1,9}(?=[.)]))")
# A word joiner (U+2060): invisible, and no line break. Streamlit's renderer finds GFM autolinks
# (`https://...`, `www.`, `a@b.c`, `mailto:`), emoji shortcodes (`:smile:`), icons (`:material/x:`) and
# colours (`:red[...]`) in the text *after* backslash escapes are resolved, so escapes cannot stop them
# (checked in Chromium): the joiner after `:` and `@`, and inside `www.`, breaks each of them.
_JOINER = "\u2060"
_WWW = re.compile(r"(?i)(www)(\.)")


def md(text: object) -> str:
    """Escape text for st.markdown (and toasts, help, captions, alerts) so it shows as typed, never as markup.

    Names like `**x**`, `[a](b)`, `![x](https://evil.example/p.png)`, `https://203.0.113.9/reset`,
    `bob@evil.test` or `:red[x]` come from outside: none of them may become a link, an image, a colour or
    an icon. Line breaks become spaces (a line-start `#` or `-` would start a heading or a list).
    """
    value = " ".join(str(text).replace("\r", "\n").split("\n"))
    value = "".join("\\" + char if char in _MD_INLINE else char for char in value)
    value = _MD_BLOCK_START.sub(_escape_block_start, value)
    value = value.replace(":", ":" + _JOINER).replace("@", "@" + _JOINER)
    return _WWW.sub(r"\1" + _JOINER + r"\2", value)


def _escape_block_start(match: re.Match) -> str:
    lead, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1. item" / "1) item": escape the dot or parenthesis after the number
        return lead + marker + "\\"
    return lead + "\\" + marker


UNEXPECTED = "Something went wrong on our side. Try again; if it keeps happening, the server log says more."


def show_error(error: AppError | BaseException | str, *, level: str = "error") -> None:
    """The one way an error reaches a person: an `AppError`'s `message` or a message, shown as text
    (st.error/st.warning render Markdown, and Auth0's texts can echo a query from a shared link). Any other
    exception becomes a sentence on the page and a traceback in the server log, never a class name."""
    if isinstance(error, AppError):
        text = error.message
    elif isinstance(error, BaseException):
        log.exception("unexpected error shown to the person as a sentence", exc_info=error)
        text = UNEXPECTED
    else:
        text = error
    box = {"warning": st.warning, "info": st.info}.get(level, st.error)
    box(md(text))


def dev_banner_text(settings: Settings) -> str | None:
    if not settings.is_dev_tenant:
        return None
    return f"Local dev tenant at {settings.auth0_url}: generated users, nothing here touches a real Auth0 tenant."


def dev_banner(settings: Settings) -> None:
    if text := dev_banner_text(settings):
        st.info(text, icon=":material/science:")


@st.cache_data(ttl=300, show_spinner=False)
def _dev_accounts(auth0_url: str) -> list[dict]:
    try:
        answer = httpx.get(f"{auth0_url}/__dev/accounts", timeout=3)
        answer.raise_for_status()
        accounts = answer.json()
        return [a for a in accounts if isinstance(a, dict)] if isinstance(accounts, list) else []
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("could not read the dev tenant's accounts: %s", exc)
        return []


def dev_accounts_hint(settings: Settings) -> None:
    """Only for the local dev tenant: which accounts sign in, so a newcomer does not have to guess."""
    if not settings.is_dev_tenant:
        return
    accounts = _dev_accounts(settings.auth0_url)
    if not accounts:
        return
    rows = "\n".join(
        f"| {md(a.get('email', ''))} | {md(a.get('password', ''))} | {md(a.get('role') or 'no role')} |"
        for a in accounts
    )
    st.markdown(
        "**Local dev tenant accounts**\n\n| email | password | role |\n|---|---|---|\n" + rows,
    )


# Browser-only touches that Streamlit has no option for. Everything else is in .streamlit/config.toml.
STYLE = """<style>
/* Avatars on cards and in the detail view: always the same round square, whatever the picture's shape. */
[class*="st-key-user-card-"] [data-testid="stImage"] img,
.st-key-user-detail-head [data-testid="stImage"] img {
  width: 56px; height: 56px; object-fit: cover; border-radius: 50%;
}
</style>"""


def style() -> None:
    st.html(STYLE)


def who(identity: Identity) -> str:
    """The header's line: name, email and role badge (escaped: names are data)."""
    role = "Admin" if identity.can_change else "Viewer"
    return (
        f":material/account_circle: **{md(identity.label)}** · {md(identity.email or '')} · "
        f":{'red' if identity.can_change else 'blue'}-badge[{role}]"
    )


def header(identity: Identity, settings: Settings) -> None:
    """Compact header: who is signed in, with which role, and the way out; the dev-tenant banner below."""
    style()
    if st.session_state.pop(WELCOME_KEY, None):
        # Says the sign-in worked, and has the browser load its toast code now: on first use that took
        # ~0.6 s, which the first Delete's "Deleted ..." toast used to wait for (bench, issue 9).
        st.toast(f"Signed in as {md(identity.email or identity.label)}", icon=":material/login:")
    with st.container(horizontal=True, vertical_alignment="center", key="app-header"):
        st.markdown(who(identity), width="stretch", wrap=False)
        st.button("Log out", key="header.logout", on_click=sign_out, icon=":material/logout:")
    dev_banner(settings)


def logout_redirect(settings: Settings) -> None:
    """After an app logout, end the Auth0 session in this browser too (then Auth0 returns to APP_URL)."""
    url = html.escape(settings.logout_url(), quote=True)
    st.markdown(
        f'<a id="auth0-logout" href="{url}" target="_self">Sign out of Auth0 in this browser as well</a>',
        unsafe_allow_html=True,
    )
    # A script in the page itself clicks the link for the person; the link stays if scripts are blocked.
    # It waits for the link (up to 10 s) instead of looking once: the old one-shot `components.html`
    # iframe script left the person on this screen, still signed in to Auth0, in about one run in three
    # (seen in Chromium, tests/browser). `st.html` runs in the page itself, not in a sandboxed iframe.
    st.html(
        "<script>(function () {"
        "  var tries = 0;"
        "  (function go() {"
        "    var a = document.getElementById('auth0-logout');"
        "    if (a) { a.click(); return; }"
        "    if (++tries < 100) { setTimeout(go, 100); }"
        "  })();"
        "})();</script>",
        unsafe_allow_javascript=True,
    )


def no_access(identity: Identity) -> None:
    """Signed in, but neither admin nor viewer: say so, say who, offer logout; show nothing else."""
    st.title("No access")
    st.warning(
        f"You are signed in as {md(identity.email or identity.sub)}, but your Auth0 account has neither the "
        "admin nor the viewer role for this tool. Ask an administrator to assign you one."
    )
    if identity.role_error:
        show_error(identity.role_error)
    st.button("Log out", key="noaccess.logout", on_click=sign_out, type="primary")


def not_configured(error: SettingsError) -> None:
    """The page shown when settings are missing: the two ways forward, never a traceback."""
    st.title("Auth0 User Admin")
    if error.nothing_configured:
        st.markdown(
            "This app is not connected to an Auth0 tenant yet. There are two ways forward:\n\n"
            "1. **Try it locally, no Auth0 account needed:** stop this server and run `make run`. It starts a "
            "local dev tenant with generated users and opens the app pointed at it.\n"
            "2. **Use your Auth0 tenant:** copy `.env.example` to `.env`, fill in `AUTH0_DOMAIN`, "
            "`AUTH0_CLIENT_ID` and `AUTH0_CLIENT_SECRET` (the README walks through the Auth0 Dashboard), "
            "then restart `streamlit run app.py`."
        )
    st.error(error.message)  # our own Markdown (lists, `names`), naming the operator's settings
