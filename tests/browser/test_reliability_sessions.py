"""Reliability case 7 in the browser: sessions stay apart, and an expired sign-in ends the session.

Two browser profiles signed in at once (an admin and a viewer) each see only their own session; a reload of
one does not sign in the other. When the ID token expires, the next click shows the sign-in screen and does
nothing: no Management API call, and no action queued by that click runs after the next sign-in either.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    ADMIN,
    BROWSER_TIMEOUT_MS,
    SIGN_IN_TIMEOUT_MS,
    VIEWER,
    card_delete_buttons,
    open_signed_out,
    shown,
    sign_in,
    sign_in_button,
    wait_idle,
)
from tests.support.app_server import AppServer
from tests.support.devtenant_proc import DevTenant

pytestmark = [pytest.mark.browser, pytest.mark.case("7 session")]

ID_TOKEN_TTL = 5


def header(page: Page):
    """The row with the signed-in person's name, email, role badge and the Log out button."""
    return (
        page.get_by_test_id("stHorizontalBlock")
        .filter(has=page.get_by_role("button", name="Log out"))
        .filter(has_text="@")
    )


def assert_signed_in_as(page: Page, *, name: str, email: str, role: str, not_name: str, not_email: str):
    row = header(page)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(shown(email, exact=False))
    expect(row).to_contain_text(role)
    expect(row).not_to_contain_text(not_name)
    expect(row).not_to_contain_text(shown(not_email, exact=False))


def assert_signed_out(page: Page) -> None:
    expect(sign_in_button(page)).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(0)


def click_and_settle(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_timeout(300)
    wait_idle(page)


def test_admin_and_viewer_signed_in_at_once_each_see_only_their_own_session(chromium, context, app):
    admin = context.new_page()
    viewer_context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    viewer_context.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        viewer = viewer_context.new_page()
        open_signed_out(admin, app.url("/"))
        open_signed_out(viewer, app.url("/"))
        sign_in(admin, ADMIN)
        sign_in(viewer, VIEWER)

        def both_as_themselves() -> None:
            assert_signed_in_as(
                admin, name="Ada Admin", email=ADMIN, role="Admin", not_name="Vic Viewer", not_email=VIEWER
            )
            expect(card_delete_buttons(admin).first).to_be_visible()
            expect(admin.get_by_role("link", name="Audit log")).to_be_visible()
            assert_signed_in_as(
                viewer, name="Vic Viewer", email=VIEWER, role="Viewer", not_name="Ada Admin", not_email=ADMIN
            )
            expect(viewer.get_by_role("button", name="Details", exact=True).first).to_be_visible()
            for label in ("Delete", "Block", "Unblock"):
                expect(viewer.get_by_role("button", name=label, exact=True)).to_have_count(0)
            expect(viewer.get_by_role("link", name="Audit log")).to_have_count(0)

        both_as_themselves()

        # Interleaved clicks: each session keeps its own page and its own person.
        click_and_settle(admin, "Next")
        click_and_settle(viewer, "Next")
        click_and_settle(admin, "Previous")
        both_as_themselves()
        assert "page=" not in admin.url and "page=1" in viewer.url, (admin.url, viewer.url)

        # A reload ends the admin's app session only; the viewer's goes on, still the viewer.
        admin.reload()
        assert_signed_out(admin)
        admin.wait_for_timeout(1_500)  # nothing signs the reloaded page in by itself
        expect(admin.get_by_role("button", name="Log out")).to_have_count(0)
        click_and_settle(viewer, "Previous")
        assert_signed_in_as(
            viewer, name="Vic Viewer", email=VIEWER, role="Viewer", not_name="Ada Admin", not_email=ADMIN
        )
        expect(card_delete_buttons(viewer)).to_have_count(0)

        # And the other way round: reloading the viewer leaves both signed out, neither as the other.
        viewer.reload()
        assert_signed_out(viewer)
        assert_signed_out(admin)

        # The admin signs in again (Auth0 remembers that browser): admin again, not the viewer.
        assert not sign_in(admin, ADMIN), "Auth0's SSO session should have answered without a password"
        assert_signed_in_as(
            admin, name="Ada Admin", email=ADMIN, role="Admin", not_name="Vic Viewer", not_email=VIEWER
        )
        assert_signed_out(viewer)
    finally:
        viewer_context.close()


# --- an ID token that expires after a few seconds ---------------------------------------------------------


@pytest.fixture(scope="module")
def short_tenant():
    with DevTenant(users=40, id_token_ttl=ID_TOKEN_TTL) as dev:
        yield dev


@pytest.fixture(scope="module")
def short_app(short_tenant, start_app_server) -> AppServer:
    server = start_app_server(short_tenant, "short-id-token")
    yield server
    server.stop()


def requests_matching(tenant: DevTenant, prefix: str) -> int:
    return sum(n for key, n in tenant.stats()["requests"].items() if key.startswith(prefix))


def wait_until_expired(signed_in_at: float) -> None:
    # The token was issued before sign_in() returned, so its exp (whole seconds) has passed by then.
    time.sleep(max(0.0, signed_in_at + ID_TOKEN_TTL + 0.5 - time.monotonic()))


def test_after_the_id_token_expires_the_next_click_shows_sign_in_and_changes_nothing(
    page, short_app, short_tenant
):
    tenant = short_tenant
    open_signed_out(page, short_app.url("/"))
    sign_in(page, ADMIN)
    signed_in_at = time.monotonic()
    block = page.get_by_role("button", name="Block", exact=True)
    expect(block.first).to_be_visible()
    assert time.monotonic() - signed_in_at < ID_TOKEN_TTL, "too slow to test expiry with this TTL"
    before = {u["user_id"]: bool(u.get("blocked")) for u in tenant.users()}
    patches = requests_matching(tenant, "PATCH ")

    # Block, clicked after expiry: the sign-in screen, with a notice, and no PATCH.
    wait_until_expired(signed_in_at)
    block.first.click()
    assert_signed_out(page)
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    page.wait_for_timeout(500)
    assert requests_matching(tenant, "PATCH ") == patches
    short_app.check_alive()

    # Signing in again must not carry out the click made while signed out.
    sign_in(page, ADMIN)
    signed_in_at = time.monotonic()
    page.wait_for_timeout(500)
    assert requests_matching(tenant, "PATCH ") == patches, "the Block clicked after expiry ran after sign-in"
    after = {u["user_id"]: bool(u.get("blocked")) for u in tenant.users()}
    assert after == before
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_enabled()

    # Next, clicked after expiry: the sign-in screen, and no listing request to Auth0.
    listings = requests_matching(tenant, "GET /api/v2/users")
    wait_until_expired(signed_in_at)
    page.get_by_role("button", name="Next", exact=True).click()
    assert_signed_out(page)
    page.wait_for_timeout(500)
    assert requests_matching(tenant, "GET /api/v2/users") == listings
    assert requests_matching(tenant, "PATCH ") == patches

    # Delete confirmed in a dialog that was opened before expiry (a dialog's clicks rerun only the dialog).
    sign_in(page, ADMIN)
    signed_in_at = time.monotonic()
    deletes = requests_matching(tenant, "DELETE ")
    card_delete_buttons(page).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Delete users?")).to_be_visible()
    wait_idle(page)
    wait_until_expired(signed_in_at)
    dialog.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_timeout(1_000)
    wait_idle(page)
    assert requests_matching(tenant, "DELETE ") == deletes
    assert_signed_out(page)
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert {u["user_id"] for u in tenant.users()} >= set(before)
