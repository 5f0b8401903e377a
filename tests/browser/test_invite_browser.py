"""An invitation end to end in Chromium: an admin invites a new person on the "New user" page, copies the
link shown once, and the person uses it on the dev tenant's reset page to choose a password and sign in."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, page_text, sign_in, wait_idle
from tests.browser.test_support_desk import signed_in, type_password
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.browser


def test_an_admin_invites_a_new_person_whose_link_sets_a_password_and_signs_in(
    chromium, app_server, browser_tenant: DevTenant
):
    email = f"invited.{int(time.time() * 1000)}@example.org"
    admins = chromium.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = admins.new_page()
        open_signed_out(page, app_server.url("/"))
        sign_in(page, ADMIN)
        page.get_by_role("link", name="New user").first.click()
        wait_idle(page)
        expect(page.get_by_role("heading", name="New user")).to_be_visible()
        page.get_by_role("textbox", name="Email", exact=True).fill(email)
        page.get_by_role("textbox", name="Name (optional)").fill("Ivy Invited")
        page.get_by_role("textbox", name="Name (optional)").press("Tab")
        wait_idle(page)
        page.get_by_role("button", name="Invite", exact=True).click()
        expect(page.get_by_test_id("stToast").filter(has_text="Invited")).to_be_visible()
        code = page.get_by_test_id("stCode").first
        expect(code).to_be_visible()
        link = code.inner_text().strip()
        assert "/lo/reset?ticket=" in link and "ticket" not in page.url
        assert "shown this once" in page_text(page)
    finally:
        admins.close()

    theirs = chromium.new_context()
    try:
        form = theirs.new_page()
        form.route("http://localhost:8501/**", lambda route: route.fulfill(status=200, body="callback"))
        type_password(form, browser_tenant, email, "anything-they-guess")
        assert not signed_in(form)  # nobody knows the random password
        form.goto(link)
        expect(form.get_by_role("heading", name="Change your password")).to_be_visible()
        form.locator("#password").fill("Ivy-Chose-This-1")
        form.locator("#confirm").fill("Ivy-Chose-This-1")
        form.get_by_role("button", name="Reset password").click()
        expect(form.get_by_role("heading", name="Password changed")).to_be_visible()
        type_password(form, browser_tenant, email, "Ivy-Chose-This-1")
        expect(form).to_have_url(re.compile(r"^http://localhost:8501/.*[?&]code="))
    finally:
        theirs.close()
