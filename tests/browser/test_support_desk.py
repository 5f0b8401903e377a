"""The support desk end to end in Chromium: a person locks themselves out in the dev tenant's own sign-in
form, an admin opens that person's link, reads why, unblocks them, and the person then signs in."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import ADMIN, open_signed_out, page_text, sign_in, wait_idle
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.browser

LOCKED = "Locked out after too many wrong passwords from 127.0.0.1 (brute-force protection)"


def authorize_url(tenant: DevTenant) -> str:
    """The dev tenant's sign-in form, as an application would send the person there."""
    query = urlencode(
        {
            "client_id": "dashboard",
            "response_type": "code",
            "redirect_uri": "http://localhost:8501/component/streamlit_oauth.authorize_button/index.html",
            "scope": "openid profile email",
            "state": "support-desk",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    return f"{tenant.base_url}/authorize?{query}"


def type_password(page: Page, tenant: DevTenant, email: str, password: str) -> None:
    """One attempt in the form; the form stays (wrong password) or redirects to the callback (right one)."""
    page.goto(authorize_url(tenant))
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def signed_in(page: Page) -> bool:
    return "code=" in page.url and page.url.startswith("http://localhost:8501/")


def test_a_locked_out_person_is_unblocked_from_their_page_and_signs_in(
    chromium, app_server, browser_tenant: DevTenant
):
    email, password = "locked.out@example.com", "correct horse battery"
    person = browser_tenant.create_user(email=email, password=password, name="Lou Lockedout")

    # The person, in their own browser: ten wrong passwords lock them out for this IP.
    theirs = chromium.new_context()
    try:
        form = theirs.new_page()
        form.route("http://localhost:8501/**", lambda route: route.fulfill(status=200, body="callback"))
        for _ in range(10):
            type_password(form, browser_tenant, email, "not-my-password")
            assert not signed_in(form)
        type_password(form, browser_tenant, email, password)
        assert not signed_in(form)  # locked: even the right password is refused now

        # The admin opens that person's link (on a server that has run app.py already: see
        # test_deep_links.py), reads why, and unblocks them.
        admins = chromium.new_context(viewport={"width": 1366, "height": 900})
        try:
            page = admins.new_page()
            open_signed_out(page, app_server.url("/"))
            open_signed_out(page, app_server.url(f"/user?id={quote(person['user_id'], safe='')}"))
            sign_in(page, ADMIN)
            expect(page.get_by_text(LOCKED).first).to_be_visible()
            page.get_by_role("button", name="Unblock for all IPs").first.click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Remove the brute-force locks")).to_be_visible()
            dialog.get_by_role("button", name="Unblock for all IPs").click()
            expect(
                page.get_by_test_id("stToast").filter(has_text="Removed the brute-force locks")
            ).to_be_visible()
            wait_idle(page)
            assert LOCKED not in page_text(page)
        finally:
            admins.close()

        # The person signs in.
        type_password(form, browser_tenant, email, password)
        expect(form).to_have_url(re.compile(r"^http://localhost:8501/.*[?&]code="))
    finally:
        theirs.close()


def test_a_person_with_a_hostile_or_endless_name_gets_a_page_of_text_no_wider_than_the_window(
    chromium, app_server, browser_tenant: DevTenant
):
    long_name = "L" + "o" * 9_999  # no place to break the line
    dialogs: list[str] = []  # an alert() would mean a name ran as script
    for name in (long_name, "<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1))"):
        person = browser_tenant.create_user(email=f"odd{len(name)}@evil.test", name=name)
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        try:
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            open_signed_out(page, app_server.url(f"/user?id={quote(person['user_id'], safe='')}"))
            sign_in(page, ADMIN)
            page.get_by_role("tab", name="Profile").click()
            wait_idle(page)
            assert page.locator("main img[src='x']").count() == 0 and not dialogs
            assert page.locator("main a[href^='javascript']").count() == 0
            assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        finally:
            context.close()
