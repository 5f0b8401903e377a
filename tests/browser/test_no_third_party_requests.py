"""Nothing leaves the admin's browser but requests to the app, the tenant and the allowed avatar hosts.

Every request the browser makes (the page, the sign-in popup, images, fonts, the favicon) is recorded
during a sign-in and a tour of every page as an admin. A profile picture elsewhere would tell its owner
when an admin opened the card; a font or icon CDN would tell a third party who opens the tool.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, sign_in, sign_in_button, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.case("9 third-party requests")]

GRAVATAR = "https://s.gravatar.com/avatar/0a1b2c3d?d=identicon"  # allowed by AVATAR_HOSTS' default
TRACKER = "https://tracker.example.net/pixel.png?who=admin"  # not allowed: initials instead
TOUR_USERS = (
    {"email": "tour-gravatar@example.org", "name": "Tour Gravatar", "picture": GRAVATAR},
    {"email": "tour-tracker@example.org", "name": "Tour Tracker", "picture": TRACKER},
)
ALL_IMAGES_SETTLED = "() => [...document.images].every(img => img.complete)"


def settle(page) -> None:
    """The script run finished and every image in the page has loaded or failed (no network here)."""
    wait_idle(page)
    page.wait_for_function(ALL_IMAGES_SETTLED)


def test_sign_in_and_a_tour_of_every_page_ask_only_the_app_the_tenant_and_avatar_hosts(
    context, reliability_app, reliability_tenant
):
    existing = {u.get("email") for u in reliability_tenant.users()}
    for user in TOUR_USERS:
        if user["email"] not in existing:
            reliability_tenant.create_user(**user)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))  # every page, the popup too
    page = context.new_page()

    open_signed_out(page, reliability_app.url("/"))
    sign_in(page, ADMIN)
    settle(page)

    # Users: the grid, a search holding both pictures, the table, a person's page.
    box = page.get_by_label("Search")
    box.fill("tour-")
    box.press("Enter")
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(2)
    settle(page)
    page.locator(".st-key-users-view").get_by_role("radio", name="Table").click()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    settle(page)
    page.locator(".st-key-users-view").get_by_role("radio", name="Grid").click()
    settle(page)
    page.get_by_test_id("stColumn").filter(has_text="Tour Tracker").filter(
        has=page.get_by_role("button", name="Details", exact=True)
    ).get_by_role("button", name="Details", exact=True).click()
    # Details opens the person's page: its Summary and each tab (the Profile holds the picture), then back.
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    settle(page)
    for tab in ("Activity", "Security", "Profile"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab, selected=True)).to_be_visible()
        settle(page)
    expect(page.get_by_text("User ID", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Back to the list").click()
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(2)
    settle(page)

    # The other pages, through the app's own navigation.
    for link, heading in (("Overview", "Overview"), ("Audit log", "Audit log"), ("Account", "Account")):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        settle(page)

    app_host = urlsplit(reliability_app.url("/")).netloc
    tenant_host = urlsplit(reliability_tenant.base_url).netloc
    hosts = {
        urlsplit(url).netloc for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")
    }
    foreign = sorted(hosts - {app_host, tenant_host, "s.gravatar.com"})
    assert foreign == [], "requests to other hosts: " + "; ".join(
        url for url in requested if urlsplit(url).netloc in foreign
    )
    # The recorder did see pictures: the allowed one was asked for (and failed: no network here).
    assert GRAVATAR in requested
    assert not any("tracker.example.net" in url for url in requested)


def test_a_forged_x_forwarded_host_does_not_move_the_sign_in_without_a_trusted_proxy(
    chromium, reliability_app
):
    """TRUST_PROXY_HEADERS is false by default: the browser's own X-Forwarded-Host is ignored, the sign-in
    button shows for the Host the page was opened under (it used to send the person to APP_URL instead)."""
    forged = chromium.new_context(extra_http_headers={"X-Forwarded-Host": "evil.example"})
    try:
        page = forged.new_page()
        page.goto(reliability_app.url("/"))
        expect(sign_in_button(page)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Sign-in only works at the app's configured address")).to_have_count(0)
    finally:
        forged.close()
