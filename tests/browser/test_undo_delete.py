"""Undo a delete in a real browser: an admin deletes a person through the dialog, then re-creates them from
the Audit page's Deleted people; Auth0 (the dev tenant) has them again with their email and metadata."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, card_delete_buttons, open_signed_out, shown, sign_in, wait_idle

pytestmark = pytest.mark.browser


def test_admin_deletes_then_recreates_from_the_audit_page(page, app, browser_tenant):
    email = f"undo.{int(time.time() * 1000)}@example.org"
    old = browser_tenant.create_user(
        email=email, name="Undo Browser", password="Old-password-1", user_metadata={"k": "v"}
    )
    open_signed_out(page, app.url("/"))
    sign_in(page, ADMIN)
    box = page.get_by_label("Search")
    box.fill(email.split("@")[0])
    box.press("Enter")
    wait_idle(page)
    expect(card_delete_buttons(page)).to_have_count(1)
    card_delete_buttons(page).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(
        page.get_by_test_id("stToast").filter(has_text=shown(f"Deleted {email}", exact=False))
    ).to_be_visible()

    page.get_by_role("link", name="Audit log").click()  # in-app: a reload would sign the admin out
    expect(page.get_by_role("heading", name="Deleted people")).to_be_visible()
    row = page.locator("[class*='st-key-kept-']").filter(has_text=shown(email, exact=False))
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Re-create").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Re-created as")).to_be_visible()
    expect(row.get_by_text("Re-created as", exact=False)).to_be_visible()
    expect(row.get_by_role("button", name="Re-create")).to_have_count(0)

    new = next(u for u in browser_tenant.users() if u.get("email") == email)
    assert new["user_id"] != old["user_id"] and new.get("user_metadata") == {"k": "v"}
