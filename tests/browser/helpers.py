"""What a person does in the browser: open the app, sign in through the Auth0 popup, wait for the app."""

from __future__ import annotations

import os
import re
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.support.devtenant_proc import STAFF_PASSWORD

OAUTH_IFRAME = 'iframe[title="streamlit_oauth.authorize_button"]'
ADMIN = "admin@example.com"
VIEWER = "viewer@example.com"
STAFF = "staff@example.com"
# One timeout for every browser wait that depends on a script rerun (set BROWSER_TIMEOUT_MS to change it):
# on a busy 2-core machine a rerun can take seconds, and Playwright's own default for `expect` is 5 s, which
# failed CI runs for no fault of the app. Used by the context fixtures (`set_default_timeout`) and set here
# for every `expect(...)`; a wait that passes early costs nothing.
BROWSER_TIMEOUT_MS = int(os.environ.get("BROWSER_TIMEOUT_MS") or 20_000)
SIGN_IN_TIMEOUT_MS = max(
    30_000, BROWSER_TIMEOUT_MS
)  # a popup, a form post, the component's 1 s poll, a rerun
expect.set_options(timeout=BROWSER_TIMEOUT_MS)


def wait_idle(page: Page, timeout: float = BROWSER_TIMEOUT_MS) -> None:
    """Until the current script run has finished (Streamlit marks its root element) and every widget's code
    has loaded (until then Streamlit draws a grey stSkeleton, and a click on it is lost)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=timeout,
    )


def sign_in_button(page: Page):
    return page.frame_locator(OAUTH_IFRAME).get_by_role("button", name="Log in with Auth0")


def open_signed_out(page: Page, url: str) -> None:
    """Open `url` and wait for the sign-in screen's Auth0 button."""
    page.goto(url)
    expect(sign_in_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)


def logout_button(page: Page):
    return page.get_by_role("button", name="Log out").first


def sign_in(page: Page, email: str, password: str = STAFF_PASSWORD) -> bool:
    """Click "Log in with Auth0", sign in in the popup, and wait until the app shows the signed-in screen.

    Returns whether the popup asked for the password (False when Auth0's SSO session answered at once).
    """
    button = sign_in_button(page)
    expect(button).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    with page.expect_popup(timeout=SIGN_IN_TIMEOUT_MS) as popup_info:
        button.click()
    popup = popup_info.value
    asked = _wait_for_form_or_close(popup)
    if asked:
        popup.locator('input[name="email"]').fill(email)
        popup.locator('input[name="password"]').fill(password)
        popup.get_by_role("button", name="Continue").click()
    if not popup.is_closed():
        # streamlit-oauth polls the popup's location once a second and closes it at the callback URL.
        popup.wait_for_event("close", timeout=SIGN_IN_TIMEOUT_MS)
    expect(logout_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    wait_idle(page)
    return asked


def _wait_for_form_or_close(popup: Page, timeout_s: float = SIGN_IN_TIMEOUT_MS / 1000) -> bool:
    """True once the sign-in form shows in the popup, False if the popup closes without showing it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if popup.is_closed():
            return False
        try:
            if popup.locator('input[name="password"]').is_visible():
                return True
            popup.wait_for_timeout(100)
        except PlaywrightError:
            if popup.is_closed():
                return False
            raise
    raise AssertionError(f"the sign-in popup neither showed the form nor closed (at {popup.url})")


def page_text(page: Page) -> str:
    """The page's text as a person reads it (without the invisible word joiners md() adds after `@`/`:`)."""
    return page.locator("body").inner_text().replace("\u2060", "")


def card_delete_buttons(page: Page):
    return page.get_by_role("button", name="Delete", exact=True)


def shown(text: str, *, exact: bool = True) -> re.Pattern:
    """`text` as the app shows user data: md() puts an invisible word joiner (U+2060) after each `:` and `@`
    (and inside `www.`) so no autolink, :shortcode: or :colour[...] forms; match with or without it."""
    parts = []
    for piece in re.split(r"(@|:|(?i:www)(?=\.))", text):
        parts.append(re.escape(piece) + ("\u2060?" if piece in ("@", ":") or piece.lower() == "www" else ""))
    pattern = "".join(parts)
    return re.compile(f"^{pattern}$" if exact else pattern)


def script_runs(page: Page) -> list[str]:
    """What the server sends over the page's websocket, as each script run's start: the kind of every
    ForwardMsg that begins a run (`new_session`) or ends one (`script_finished`, with its status)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    seen: list[str] = []

    def on_frame(payload) -> None:
        if isinstance(payload, str):
            return
        message = ForwardMsg()
        try:
            message.ParseFromString(payload)
        except Exception:  # not a ForwardMsg (none expected)
            return
        kind = message.WhichOneof("type")
        if kind == "new_session":
            seen.append("run")
        elif kind == "script_finished":
            seen.append(ForwardMsg.ScriptFinishedStatus.Name(message.script_finished))

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return seen
