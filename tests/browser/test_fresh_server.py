"""A server process that never ran app.py: opening a page's URL directly must still show only the sign-in.

Streamlit runs `pages/<name>.py` without app.py until the first `st.navigation()` call in a process, so
these checks need their own, fresh server (and their own dev tenant, whose request counters start at 0).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    ADMIN,
    SIGN_IN_TIMEOUT_MS,
    VIEWER,
    open_signed_out,
    page_text,
    sign_in,
    sign_in_button,
    wait_idle,
)
from tests.support.devtenant_proc import STAFF_PASSWORD, DevTenant

pytestmark = pytest.mark.browser

PAGE_TITLES = {"/users": "Users", "/overview": "Overview", "/audit": "Audit log", "/account": "Account"}


@pytest.fixture(scope="module")
def fresh_tenant():
    with DevTenant(users=150) as dev:
        yield dev


@pytest.fixture(scope="module")
def fresh_app(fresh_tenant, start_app_server):
    server = start_app_server(fresh_tenant, "fresh")
    yield server
    server.stop()


def test_pages_opened_directly_on_a_fresh_server_show_the_sign_in_page_and_no_user_data(
    page, fresh_app, fresh_tenant
):
    generated = [
        u["email"].lower()
        for u in fresh_tenant.users()
        if u.get("email") and not (u.get("app_metadata") or {}).get("staff")
    ]
    assert len(generated) >= 150

    for path, title in PAGE_TITLES.items():
        open_signed_out(page, fresh_app.url(path, host="127.0.0.1"))
        wait_idle(page)
        expect(page.get_by_role("heading", name="Auth0 User Admin")).to_be_visible()
        expect(page.get_by_role("heading", name=title, exact=True)).to_have_count(0)
        assert page.get_by_role("button", name="Details").count() == 0, path
        assert page.get_by_role("button", name="Log out").count() == 0, path
        text = page_text(page).lower()
        leaked = [email for email in generated if email in text]
        assert not leaked, f"{path} showed tenant users before sign-in: {leaked[:5]}"
        fresh_app.check_alive()

    requests = fresh_tenant.stats()["requests"]
    assert requests.get("GET /api/v2/users", 0) == 0, requests
    assert not [key for key in requests if key.startswith("GET /api/v2/users")], requests


def test_signing_in_on_a_directly_opened_page_lands_in_the_full_app(page, fresh_app):
    """After sign-in on a page Streamlit served without app.py, the person gets the header and the menu."""
    open_signed_out(page, fresh_app.url("/overview", host="127.0.0.1"))
    assert sign_in(page, ADMIN) is not None
    expect(page.get_by_role("button", name="Log out")).to_be_visible(timeout=SIGN_IN_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    # The page the link asked for, not the default page (a shared link must survive the sign-in).
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    wait_idle(page)
    assert page.url == fresh_app.url("/overview", host="127.0.0.1")


@pytest.fixture(scope="module")
def second_fresh_app(fresh_tenant, start_app_server):
    """Another server that never ran app.py (the sign-in above ended the first one's fresh mode)."""
    server = start_app_server(fresh_tenant, "fresh-2")
    yield server
    server.stop()


def test_a_users_link_on_a_fresh_server_keeps_its_view_through_the_sign_in(page, second_fresh_app):
    query = "text=mar&connection=Username-Password-Authentication&sort=email&view=table"
    open_signed_out(page, second_fresh_app.url(f"/users?{query}", host="127.0.0.1"))
    sign_in(page, ADMIN)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_idle(page)
    assert page.url == second_fresh_app.url(f"/?{query}", host="127.0.0.1")
    expect(page.get_by_role("textbox", name="Search")).to_have_value("mar")
    expect(page.get_by_role("combobox", name="Sort")).to_have_value("Email (A-Z)")


@pytest.fixture(scope="module")
def third_fresh_app(fresh_tenant, start_app_server):
    server = start_app_server(fresh_tenant, "fresh-3")
    yield server
    server.stop()


def test_a_viewer_signing_in_at_the_audit_page_of_a_fresh_server_is_offered_the_pages_they_may_see(
    page, third_fresh_app
):
    open_signed_out(page, third_fresh_app.url("/audit", host="127.0.0.1"))
    sign_in_as_viewer_without_header(page)
    expect(
        page.get_by_text("This page is for admins only. Your role lets you view users, not this page.")
    ).to_be_visible()
    main = page.get_by_test_id("stMain")
    for name in ("Users", "Overview", "Account"):
        expect(main.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    main.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()  # the full app, header and menu
    wait_idle(page)


def sign_in_as_viewer_without_header(page) -> None:
    """`sign_in` waits for the header's Log out button, which a page run without app.py does not draw."""
    with page.expect_popup(timeout=SIGN_IN_TIMEOUT_MS) as popup_info:
        sign_in_button(page).click()
    popup = popup_info.value
    popup.locator('input[name="email"]').fill(VIEWER)
    popup.locator('input[name="password"]').fill(STAFF_PASSWORD)
    popup.get_by_role("button", name="Continue").click()
    if not popup.is_closed():
        popup.wait_for_event("close", timeout=SIGN_IN_TIMEOUT_MS)
    expect(sign_in_button(page)).to_have_count(0, timeout=SIGN_IN_TIMEOUT_MS)
    wait_idle(page)
