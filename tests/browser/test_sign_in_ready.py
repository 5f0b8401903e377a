"""What a sign-in waits for once the Auth0 popup closes (issue 19): not the signed-in page's widget code, and,
on a fresh server, not the signing keys, the client-credentials token or the page's imports.

These count requests, never time: the bench (`python -m bench --only signin`) measures the time.
"""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.helpers import (
    ADMIN,
    SIGN_IN_TIMEOUT_MS,
    card_delete_buttons,
    logout_button,
    open_signed_out,
    script_runs,
    sign_in_button,
    wait_idle,
)
from tests.support.devtenant_proc import STAFF_PASSWORD, DevTenant

pytestmark = pytest.mark.browser

# Counts the grey placeholders (stSkeleton) ever put inside a user card from now on.
WATCH_CARD_PLACEHOLDERS = """() => {
  window.__cardPlaceholders = 0;
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (!(n instanceof Element)) continue;
      const found = n.matches('[data-testid="stSkeleton"]') ? [n]
        : [...n.querySelectorAll('[data-testid="stSkeleton"]')];
      window.__cardPlaceholders += found.filter(e => e.closest('[class*="st-key-user-card-"]')).length;
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""
WIDGET_CODE_LOADED = "() => document.documentElement.dataset.widgetCode === 'loaded'"


def _chunk(url: str) -> bool:
    return "/static/js/" in url and url.endswith(".js")


def _submit_in_popup(page) -> None:
    """Click "Log in with Auth0", sign in with the password in the popup, and wait until it has closed."""
    with page.expect_popup(timeout=SIGN_IN_TIMEOUT_MS) as popup_info:
        sign_in_button(page).click()
    popup = popup_info.value
    popup.locator('input[name="email"]').fill(ADMIN)
    popup.locator('input[name="password"]').fill(STAFF_PASSWORD)
    popup.get_by_role("button", name="Continue").click()
    if not popup.is_closed():
        popup.wait_for_event("close", timeout=SIGN_IN_TIMEOUT_MS)


def test_the_signed_in_pages_widget_code_is_loaded_before_the_popup_closes(context, app):
    """A fresh browser profile used to fetch ~40 JS chunks (text input, selects, checkboxes, the view switch,
    avatars, buttons, the toast) only once the Users page arrived, and showed grey placeholders meanwhile.
    The sign-in screen now imports them while the person types: none is fetched after the popup closes."""
    page = context.new_page()
    chunks: list[str] = []
    page.on("request", lambda request: chunks.append(request.url) if _chunk(request.url) else None)
    open_signed_out(page, app.url("/"))
    wait_idle(page)
    # A person takes a moment to type; a loaded machine may need it too. Past 10 s the assertion below
    # names what was still fetched late.
    with contextlib.suppress(PlaywrightError):
        page.wait_for_function(WIDGET_CODE_LOADED, timeout=10_000)
    before_close = len(chunks)
    assert before_close > 0
    page.evaluate(WATCH_CARD_PLACEHOLDERS)

    _submit_in_popup(page)
    after_close = len(chunks)
    expect(logout_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    expect(card_delete_buttons(page).first).to_be_visible()
    wait_idle(page)

    # React suspends each kind of lazily loaded element the first time it renders, even with its code in:
    # the cards' avatars were grey placeholders until the sign-in screen drew one of each, hidden.
    assert page.evaluate("() => window.__cardPlaceholders") == 0, "a card showed a grey placeholder"

    late = sorted({url.rsplit("/", 1)[-1] for url in chunks[after_close:]})
    assert late == [], (
        "widget code fetched after the popup closed (add its element to "
        f"admin_core.ui.preload.SIGNED_IN_ELEMENTS): {late}"
    )


def test_the_sign_in_finishes_in_the_run_that_gets_the_popups_answer(context, app):
    """The run that received the popup's answer used to end in st.rerun(): the signed-in page then waited
    for that run to end (and Streamlit's full garbage collection after it) and for a second run to start.
    The sign-in screen now gives way to the page in that same run: one run from the answer to the page."""
    page = context.new_page()
    messages = script_runs(page)
    open_signed_out(page, app.url("/"))
    wait_idle(page)
    before = len(messages)
    assert "run" in messages  # the sign-in screen's own run was seen on the websocket

    _submit_in_popup(page)
    expect(logout_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    expect(card_delete_buttons(page).first).to_be_visible()
    wait_idle(page)

    assert messages[before:] == ["run", "FINISHED_SUCCESSFULLY"], messages[before:]


@pytest.fixture(scope="module")
def ready_tenant():
    with DevTenant(users=30) as dev:
        yield dev


def test_a_fresh_server_has_the_keys_and_the_token_before_the_first_sign_in(
    context, ready_tenant, start_app_server
):
    """The first sign-in after a start used to fetch the JWKS, then a client-credentials token, after the
    popup closed (and import pandas & co. for the page). The sign-in screen starts them in a thread of its
    own: both are there before the person submits, and the sign-in itself asks for neither again."""
    server = start_app_server(ready_tenant, "ready")
    try:
        page = context.new_page()
        open_signed_out(page, server.url("/"))
        wait_idle(page)

        def counts() -> tuple[int, int, int]:
            stats = ready_tenant.stats()
            return (
                stats["requests"].get("GET /.well-known/jwks.json", 0),
                stats["token_grants"].get("client_credentials", 0),
                stats["management_requests"],
            )

        for _ in range(150):  # the thread started with the sign-in screen; wait for it up to ~15 s
            if counts()[:2] == (1, 1):
                break
            page.wait_for_timeout(100)
        assert counts() == (1, 1, 0), "JWKS fetches, token grants, Management API calls before the sign-in"

        _submit_in_popup(page)
        expect(logout_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
        expect(card_delete_buttons(page).first).to_be_visible()
        wait_idle(page)
        jwks, grants, _ = counts()
        assert (jwks, grants) == (1, 1), "the sign-in fetched the keys or a token again"
    finally:
        server.stop()
