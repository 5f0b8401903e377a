"""The Users page in a real browser: grid and table, search, delete through the dialog, and Auth0 agrees."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, card_delete_buttons, open_signed_out, shown, sign_in, wait_idle

pytestmark = pytest.mark.browser


def pick_target(users: list[dict]) -> tuple[dict, str]:
    """A generated user whose email's local part is a prefix of no other email: the search finds only them."""
    emails = [u["email"].lower() for u in users if u.get("email")]
    for user in sorted(users, key=lambda u: u.get("email") or ""):
        email = (user.get("email") or "").lower()
        if not email or (user.get("app_metadata") or {}).get("staff"):
            continue
        prefix = email.split("@", 1)[0]
        if len(prefix) >= 5 and sum(e.startswith(prefix) for e in emails) == 1:
            return user, prefix
    raise AssertionError("no generated user with a unique email prefix")


def search(page, text: str) -> None:
    box = page.get_by_label("Search")
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def test_admin_switches_views_searches_deletes_through_the_dialog_and_the_user_stays_gone(
    page, app, browser_tenant
):
    target, prefix = pick_target(browser_tenant.users())
    email = target["email"]

    open_signed_out(page, app.url("/"))
    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(card_delete_buttons(page).first).to_be_visible()

    # Grid -> table -> grid.
    view = page.locator(".st-key-users-view")
    view.get_by_role("radio", name="Table").click()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect(card_delete_buttons(page)).to_have_count(0)
    assert "view=table" in page.url
    view.get_by_role("radio", name="Grid").click()
    expect(card_delete_buttons(page).first).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)

    # Search by email prefix: the one matching card.
    search(page, prefix)
    expect(page.get_by_text(shown(email, exact=False))).to_be_visible()
    expect(card_delete_buttons(page)).to_have_count(1)

    # Delete through the confirmation dialog.
    card_delete_buttons(page).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Delete users?")).to_be_visible()
    expect(dialog.get_by_text(shown(email, exact=False))).to_be_visible()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(
        page.get_by_test_id("stToast").filter(has_text=shown(f"Deleted {email}", exact=False))
    ).to_be_visible()
    expect(dialog).to_have_count(0)
    expect(page.get_by_text("No users match")).to_be_visible()

    # A reload ends the app session: sign in again (Auth0 still remembers this browser), search again.
    page.reload()
    sign_in(page, ADMIN)
    search(page, prefix)
    expect(page.get_by_text("No users match")).to_be_visible()
    expect(page.get_by_text(shown(email, exact=False))).to_have_count(0)

    # The dev tenant agrees.
    assert target["user_id"] not in {u["user_id"] for u in browser_tenant.users()}
    answer = httpx.get(
        f"{browser_tenant.base_url}/api/v2/users/{target['user_id']}",
        headers={"Authorization": f"Bearer {browser_tenant.management_token()}"},
        trust_env=False,
    )
    assert answer.status_code == 404, answer.text
