"""The support work by keyboard alone: sign in, search, block a person, open their page, lift the block there
behind its confirmation, go back to the list, delete them behind the confirmation, and read every toast,
with Tab, Enter, Escape and typing only, and a visible focus at every step.

The mouse is never used: the test finds its way with Tab (Shift+Tab to go back up) and asks the page only
what has the focus and how that element looks. The person's page (`/user?id=...`, Details on a card) offers
the fixes of a person who cannot sign in (Unblock among them) but no Block: blocking stays on the card, so
the test blocks there and lifts the block on the page, through the page's own confirmation.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.browser.helpers import (
    ADMIN,
    OAUTH_IFRAME,
    SIGN_IN_TIMEOUT_MS,
    logout_button,
    open_signed_out,
    shown,
    wait_idle,
)
from tests.support.devtenant_proc import STAFF_PASSWORD

pytestmark = pytest.mark.browser

MAX_TABS = 80  # more than every focusable element between the top of the Users page and one card

# The focused element, followed into same-origin frames (the sign-in button lives in a component's iframe).
FOCUSED = """() => {
  let doc = document, el = doc.activeElement;
  while (el && el.tagName === 'IFRAME' && el.contentDocument) { doc = el.contentDocument; el = doc.activeElement; }
  return el;
}"""

# Whether the focused element shows it: an outline or a focus ring (box-shadow) on it or its wrapper
# (Streamlit draws the ring of a text box on the box around the <input>), or a border in the primary colour.
FOCUS_VISIBLE = (
    """() => {
  const focused = ("""
    + FOCUSED
    + """)();
  if (!focused || focused === focused.ownerDocument.body) return 'nothing has the focus';
  const win = focused.ownerDocument.defaultView;
  let el = focused;
  for (let depth = 0; el && depth < 4; depth++, el = el.parentElement) {
    const s = win.getComputedStyle(el);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) return '';
    if (s.boxShadow && s.boxShadow !== 'none') return '';
    if (el !== focused && el.matches(':focus-within') && s.borderTopColor === 'rgb(72, 64, 214)') return '';
  }
  return 'no visible focus on ' + focused.outerHTML.slice(0, 200);
}"""
)

DESCRIBE = (
    """() => {
  const el = ("""
    + FOCUSED
    + """)();
  if (!el) return '';
  const label = el.getAttribute('aria-label') || el.getAttribute('placeholder') || '';
  return (el.tagName + ' ' + label + ' ' + (el.innerText || el.value || '')).trim().slice(0, 120);
}"""
)


def focused_text(page: Page) -> str:
    return page.evaluate(DESCRIBE)


def assert_focus_visible(page: Page) -> None:
    """Polled for a moment: Streamlit fades a text box's border to the primary colour (a CSS transition)."""
    for _ in range(20):
        problem = page.evaluate(FOCUS_VISIBLE)
        if not problem:
            return
        page.wait_for_timeout(100)
    raise AssertionError(problem)


def tab_to(page: Page, matches: str, *, within: str | None = None) -> None:
    """Press Tab until the focused element matches the CSS selector `matches` (inside `within`, if given);
    if Tab runs past the end of the page without reaching it, Shift+Tab back up for it."""
    test = (
        "([sel, within]) => { const el = ("
        + FOCUSED
        + ")(); return !!el && el.matches(sel) && (!within || !!el.closest(within)); }"
    )
    seen = []
    for key in ("Tab", "Shift+Tab"):
        for _ in range(MAX_TABS):
            page.keyboard.press(key)
            if page.evaluate(test, [matches, within]):
                assert_focus_visible(page)
                return
            seen.append(focused_text(page))
    raise AssertionError(f"Tab never reached {matches} (within {within}); focus went: {seen}")


def type_in_popup(popup: Page, email: str, password: str) -> None:
    """The dev tenant's sign-in form, by keyboard: Tab to the email box, type, Tab, type, Enter."""
    popup.locator('input[name="password"]').wait_for()
    frame: Frame = popup.main_frame
    for _ in range(10):
        if frame.evaluate("() => document.activeElement?.name") == "email":
            break
        popup.keyboard.press("Tab")
    assert frame.evaluate("() => document.activeElement?.name") == "email"
    popup.keyboard.type(email)
    popup.keyboard.press("Tab")
    assert frame.evaluate("() => document.activeElement?.name") == "password"
    popup.keyboard.type(password)
    popup.keyboard.press("Enter")


def pick_person(users: list[dict]) -> tuple[dict, str]:
    """A generated, unblocked user whose email's local part no other email starts with (the search finds
    only them), from the end of the list (tests/browser/test_users_page.py deletes one from the start)."""
    emails = [u["email"].lower() for u in users if u.get("email")]
    for user in sorted(users, key=lambda u: u.get("email") or "", reverse=True):
        email = (user.get("email") or "").lower()
        if not email or user.get("blocked") or (user.get("app_metadata") or {}).get("staff"):
            continue
        prefix = email.split("@", 1)[0]
        if len(prefix) >= 5 and sum(e.startswith(prefix) for e in emails) == 1:
            return user, prefix
    raise AssertionError("no generated user with a unique email prefix")


def sign_in_by_keyboard(page: Page, email: str) -> None:
    """Tab to "Log in with Auth0" (in the component's frame), Enter, and type in the popup."""
    expect(page.frame_locator(OAUTH_IFRAME).get_by_role("button", name="Log in with Auth0")).to_be_visible()
    wait_idle(page)
    with page.expect_popup(timeout=SIGN_IN_TIMEOUT_MS) as popup_info:
        tab_to(page, "button")  # the first button on the sign-in screen is Auth0's (in its frame)
        assert "Log in with Auth0" in focused_text(page)
        page.keyboard.press("Enter")
    popup = popup_info.value
    type_in_popup(popup, email, STAFF_PASSWORD)
    if not popup.is_closed():
        popup.wait_for_event("close", timeout=SIGN_IN_TIMEOUT_MS)
    expect(logout_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    wait_idle(page)


def open_person(page: Page) -> None:
    """Details on the person's card opens their page (`/user?id=...`) with the Summary on top."""
    tab_to(page, "button", within='[class*="st-key-detail"]')
    assert "Details" in focused_text(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/user\?id="))
    wait_idle(page)


def unblock_on_the_page(page: Page, email: str) -> None:
    """The Summary's "Unblock" beside the blocked verdict: its confirmation (Escape dismisses it; the second
    time, the confirm button), the toast, and the Summary without the block."""
    fix = '[class*="st-key-summary"][class*="-fix-unblock"]'
    expect(page.locator(fix)).to_have_count(1)
    tab_to(page, "button", within=fix)
    assert "Unblock" in focused_text(page)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("They can sign in again.", exact=False)).to_be_visible()
    wait_idle(page)
    page.keyboard.press("Escape")  # changed their mind: nothing happens
    expect(dialog).to_have_count(0)
    wait_idle(page)
    expect(page.locator(fix)).to_have_count(1)

    tab_to(page, "button", within=fix)
    page.keyboard.press("Enter")
    expect(dialog.get_by_text("They can sign in again.", exact=False)).to_be_visible()
    wait_idle(page)
    tab_to(page, "button", within=".st-key-person-confirm-ok")
    assert "Unblock" in focused_text(page)
    page.keyboard.press("Enter")
    read_toast(page, f"Unblocked {email}")
    expect(dialog).to_have_count(0)
    wait_idle(page)
    expect(page.locator(fix)).to_have_count(0)  # the Summary read Auth0 again: no block to lift


def back_to_the_list(page: Page, email: str) -> None:
    tab_to(page, "button", within=".st-key-person-back")
    assert "Back to the list" in focused_text(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(1)  # the search is kept
    expect(page.get_by_test_id("stMainBlockContainer").get_by_text(shown(email))).to_be_visible()


def read_toast(page: Page, text: str) -> None:
    """The toast says what was done, in an alert dialog (announced by a screen reader; it has no name, see
    EXCLUDED in test_accessibility.py)."""
    toast = page.get_by_test_id("stToast").filter(has_text=shown(text, exact=False))
    expect(toast).to_be_visible()
    expect(toast).to_have_attribute("role", "alertdialog")
    expect(toast.get_by_test_id("stToastText")).to_have_text(shown(text))


def test_sign_in_search_block_open_unblock_and_delete_a_person_by_keyboard_alone(page, app, browser_tenant):
    person, prefix = pick_person(browser_tenant.users())
    email = person["email"]

    open_signed_out(page, app.url("/"))
    sign_in_by_keyboard(page, ADMIN)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    tab_to(page, 'input[aria-label="Search"], input[type="text"]', within='[class*="st-key-users-text"]')
    page.keyboard.type(prefix)
    page.keyboard.press("Enter")
    wait_idle(page)
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(1)
    expect(page.get_by_text(shown(email, exact=False))).to_be_visible()

    tab_to(page, "button", within='[class*="st-key-block"]')
    assert "Block" in focused_text(page)
    page.keyboard.press("Enter")
    read_toast(page, f"Blocked {email}")
    wait_idle(page)
    expect(page.get_by_text("Blocked", exact=True).first).to_be_visible()

    open_person(page)
    unblock_on_the_page(page, email)
    assert not next(u for u in browser_tenant.users() if u["user_id"] == person["user_id"]).get("blocked")
    back_to_the_list(page, email)

    tab_to(page, "button", within='[class*="st-key-delete"]')
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Delete users?")).to_be_visible()
    wait_idle(page)
    tab_to(page, "button", within=".st-key-confirm-delete")
    page.keyboard.press("Enter")
    read_toast(page, f"Deleted {email}")
    expect(dialog).to_have_count(0)

    assert person["user_id"] not in {u["user_id"] for u in browser_tenant.users()}
