"""Roles in Chromium (issue 16's browser acceptance, its roles part): an admin opens a person's page, picks
a role from the tenant's roles in the Roles tab and adds it; the toast says so, the role shows with its
description, and the dev tenant has it."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, sign_in, wait_idle
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.browser


def role_names(tenant: DevTenant, user_id: str) -> list[str]:
    answer = httpx.get(
        f"{tenant.base_url}/api/v2/users/{quote(user_id, safe='')}/roles",
        headers={"authorization": f"Bearer {tenant.management_token()}"},
        timeout=10,
        trust_env=False,
    )
    answer.raise_for_status()
    return [r["name"] for r in answer.json()]


def test_an_admin_adds_a_role_to_a_person_from_their_page(chromium, app, browser_tenant: DevTenant):
    person = browser_tenant.create_user(
        email="rosa.roles@example.com", name="Rosa Roles", password="x-Pass-1234"
    )
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        open_signed_out(page, app.url("/"))
        open_signed_out(page, app.url(f"/user?id={quote(person['user_id'], safe='')}"))
        sign_in(page, ADMIN)
        page.get_by_role("tab", name="Roles").click()
        panel = page.get_by_role("tabpanel", name="Roles")
        expect(panel.get_by_text("No roles: this person")).to_be_visible()
        panel.get_by_test_id("stMultiSelect").click()
        page.get_by_role("option", name="Support Agent — Can view users and help them sign in").click()
        page.keyboard.press("Escape")
        panel.get_by_role("button", name="Add").click()
        expect(
            page.get_by_test_id("stToast").filter(has_text="Added the role Support Agent to rosa.roles")
        ).to_be_visible()
        wait_idle(page)
        page.get_by_role("tab", name="Roles").click()
        expect(panel.get_by_text("Can view users and help them sign in")).to_be_visible()
        expect(panel.get_by_role("button", name="Remove")).to_be_visible()
        assert role_names(browser_tenant, person["user_id"]) == ["Support Agent"]
    finally:
        context.close()
