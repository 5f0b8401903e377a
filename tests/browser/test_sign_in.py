"""Signing in through streamlit-oauth's popup in a real Chromium, by role, and signing out of Auth0 too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    ADMIN,
    SIGN_IN_TIMEOUT_MS,
    STAFF,
    VIEWER,
    card_delete_buttons,
    logout_button,
    open_signed_out,
    page_text,
    shown,
    sign_in,
    sign_in_button,
    wait_idle,
)

pytestmark = pytest.mark.browser


def test_admin_signs_in_through_the_popup_and_lands_on_users_with_their_name_and_delete_buttons(page, app):
    open_signed_out(page, app.url("/"))

    assert sign_in(page, ADMIN), "a fresh browser must be asked for the password"

    # The toast first: it is drawn with the header sign_in() waited for, and lasts a few seconds only.
    expect(
        page.get_by_test_id("stToast").filter(has_text=shown("Signed in as admin@example.com", exact=False))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_text("Ada Admin").first).to_be_visible()
    expect(card_delete_buttons(page).first).to_be_visible()
    assert card_delete_buttons(page).count() > 0
    expect(page.get_by_role("button", name="Block", exact=True).first).to_be_visible()


def test_viewer_sees_user_cards_but_no_delete_or_block_buttons(page, app):
    open_signed_out(page, app.url("/"))
    sign_in(page, VIEWER)

    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_role("button", name="Details").first).to_be_visible()
    assert page.get_by_role("button", name="Details").count() > 1
    for label in ("Delete", "Block", "Unblock"):
        assert page.get_by_role("button", name=label, exact=True).count() == 0, label


def test_staff_without_a_role_sees_no_access_and_no_user_data(page, app, browser_tenant):
    open_signed_out(page, app.url("/"))
    sign_in(page, STAFF)

    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    wait_idle(page)
    assert page.get_by_role("button", name="Details").count() == 0
    assert page.get_by_role("heading", name="Users").count() == 0
    text = page_text(page).lower()
    assert STAFF in text
    leaked = [
        u["email"]
        for u in browser_tenant.users()
        if u.get("email") and u["email"] != STAFF and u["email"].lower() in text
    ]
    assert not leaked, f"someone without a role saw tenant emails: {leaked[:5]}"


def test_logout_ends_the_auth0_session_so_signing_in_again_asks_for_the_password(page, app, browser_tenant):
    open_signed_out(page, app.url("/"))
    assert sign_in(page, ADMIN)
    logouts_before = browser_tenant.stats()["requests"].get("GET /v2/logout", 0)

    logout_button(page).click()

    # The sign-in screen sends the browser through Auth0's logout, which returns to APP_URL signed out.
    expect(sign_in_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    assert browser_tenant.stats()["requests"].get("GET /v2/logout", 0) == logouts_before + 1
    assert page.url.rstrip("/") == app.app_url
    expect(page.locator("#auth0-logout")).to_have_count(0)

    assert sign_in(page, ADMIN), "after logout the popup must ask for the password again"
    expect(page.get_by_role("heading", name="Users")).to_be_visible()


def test_the_signed_out_screen_shows_no_menu_of_the_previous_session(page, app):
    """Held on the signed-out screen (Auth0's logout blocked), the menu of the admin's session is gone."""
    open_signed_out(page, app.url("/"))
    assert sign_in(page, ADMIN)
    expect(page.get_by_text("Audit log", exact=True)).to_be_visible()
    page.route("**/v2/logout**", lambda route: route.abort())
    logout_button(page).click()
    expect(page.get_by_text("You have signed out.")).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    wait_idle(page)
    shown = [
        name
        for name in ("Users", "Overview", "Audit log", "Account")
        if page.get_by_text(name, exact=True).count()
    ]
    assert shown == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_sign_in_works_whether_the_app_is_opened_as_127_0_0_1_or_localhost(page, app, host):
    open_signed_out(page, app.url("/", host=host))
    assert sign_in(page, ADMIN)

    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_text("Ada Admin").first).to_be_visible()
    assert page.url.startswith(f"http://{host}:{app.port}/")
