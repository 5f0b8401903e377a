"""Shared links and bookmarks on a server that is already running.

Once any session of a server process has run app.py (and so called st.navigation), Streamlit resolves a
requested address by the pages that run registers. A link opened signed out must then still show the
sign-in screen without a "Page not found" dialog, and after sign-in the page and the view the link holds.
A freshly started server serves pages/ files directly and never showed this, so every test here runs on the
shared server after another browser profile has used it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    ADMIN,
    VIEWER,
    card_delete_buttons,
    logout_button,
    open_signed_out,
    page_text,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def used_server(chromium, app_server):
    """The shared server after another browser profile opened `/`, signed in and signed out."""
    other = chromium.new_context(viewport={"width": 1440, "height": 1000})
    try:
        first = other.new_page()
        open_signed_out(first, app_server.url("/"))
        sign_in(first, ADMIN)
        logout_button(first).click()
        expect(first.get_by_text("You have signed out.")).to_be_visible()
        wait_idle(first)
    finally:
        other.close()
    return app_server


def open_link_signed_out(page, url: str) -> None:
    """Open a link in a fresh profile: the sign-in screen, no dialog over it, the address untouched."""
    open_signed_out(page, url)
    wait_idle(page)
    expect(page.get_by_role("heading", name="Auth0 User Admin")).to_be_visible()
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    assert "Page not found" not in page_text(page)
    assert page.url == url


def test_a_users_link_with_search_filters_sort_and_view_survives_the_sign_in(page, used_server):
    query = "text=mar&connection=Username-Password-Authentication&sort=email&view=table"
    open_link_signed_out(page, used_server.url(f"/users?{query}"))

    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    # The Users page is the signed-in app's default page, whose address is `/`; the view stays in the URL.
    assert page.url == used_server.url(f"/?{query}")
    expect(page.get_by_role("textbox", name="Search")).to_have_value("mar")
    expect(page.get_by_role("combobox", name="Connection")).to_have_value("Username-Password-Authentication")
    expect(page.get_by_role("combobox", name="Sort")).to_have_value("Email (A-Z)")
    expect(page.get_by_role("checkbox", name="Blocked")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Never logged in")).not_to_be_checked()
    expect(page.get_by_role("radio", name="Table")).to_be_checked()
    expect(card_delete_buttons(page)).to_have_count(0)  # the table, not the cards


def test_a_link_to_a_later_page_of_a_sorted_grid_survives_the_sign_in(page, used_server):
    query = "sort=name&page=3"
    open_link_signed_out(page, used_server.url(f"/users?{query}"))

    sign_in(page, ADMIN)
    expect(page.get_by_text("Page 4 of 7")).to_be_visible()
    wait_idle(page)
    assert page.url == used_server.url(f"/?{query}")
    expect(page.get_by_role("combobox", name="Sort")).to_have_value("Name (A-Z)")
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(24)
    expect(page.get_by_role("textbox", name="Search")).to_have_value("")


@pytest.mark.parametrize(
    ("path", "heading"), [("/overview", "Overview"), ("/account", "Account"), ("/audit", "Audit log")]
)
def test_an_admin_link_to_another_page_lands_on_that_page(page, used_server, path, heading):
    open_link_signed_out(page, used_server.url(path))

    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    wait_idle(page)
    assert page.url == used_server.url(path)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_have_count(0)


def test_a_viewer_opening_the_audit_link_is_told_why_and_offered_the_pages_they_may_see(page, used_server):
    open_link_signed_out(page, used_server.url("/audit"))

    sign_in(page, VIEWER)
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
    wait_idle(page)
    assert page.url == used_server.url("/audit")
    expect(
        page.get_by_text("This page is for admins only. Your role lets you view users, not this page.")
    ).to_be_visible()
    main = page.get_by_test_id("stMain")
    for name in ("Users", "Overview", "Account"):
        expect(main.get_by_role("link", name=name)).to_be_visible()
    expect(main.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    assert "Page not found" not in page_text(page)

    main.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    wait_idle(page)
    assert page.url == used_server.url("/overview")
