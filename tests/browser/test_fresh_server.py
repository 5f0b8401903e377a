"""A server process that never ran app.py: opening a page's URL directly must still show only the sign-in.

Streamlit runs `pages/<name>.py` without app.py until the first `st.navigation()` call in a process, so
these checks need their own, fresh server (and their own dev tenant, whose request counters start at 0).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, SIGN_IN_TIMEOUT_MS, open_signed_out, page_text, sign_in, wait_idle
from tests.support.devtenant_proc import DevTenant

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
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
