"""Issue 16's browser acceptance, metadata part: an admin opens a person's page, edits their metadata as
JSON, reads the diff of what will change, saves, and Auth0 (the dev tenant) has the change."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, page_text, sign_in, wait_idle
from tests.support.devtenant_proc import DevTenant

pytestmark = pytest.mark.browser


def test_an_admin_edits_metadata_with_a_diff_and_saves(chromium, app_server, browser_tenant: DevTenant):
    person = browser_tenant.create_user(email="meta.data@example.com", name="Meta Data")
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        open_signed_out(page, app_server.url("/"))
        open_signed_out(page, app_server.url(f"/user?id={quote(person['user_id'], safe='')}"))
        sign_in(page, ADMIN)
        page.get_by_role("tab", name="Profile", exact=True).click()
        wait_idle(page)
        editor = page.get_by_label("user_metadata", exact=True)
        expect(editor).to_be_visible()
        assert "top level only" in page_text(page)  # the merge rule is said before anything is typed
        editor.fill(json.dumps({"theme": "dark", "beta": True}))
        editor.press("Control+Enter")
        wait_idle(page)
        expect(page.get_by_text('add theme = "dark"')).to_be_visible()
        expect(page.get_by_text("add beta = true")).to_be_visible()
        page.get_by_role("button", name="Save user_metadata").click()
        expect(
            page.get_by_test_id("stToast").filter(has_text="Saved 2 changes to the user_metadata")
        ).to_be_visible()
        wait_idle(page)
        stored = next(u for u in browser_tenant.users() if u["user_id"] == person["user_id"])
        assert stored["user_metadata"] == {"theme": "dark", "beta": True}
        assert 'add theme = "dark"' not in page_text(page)  # the editor starts again from Auth0's copy
        assert (
            json.loads(page.get_by_label("user_metadata", exact=True).input_value())
            == stored["user_metadata"]
        )
    finally:
        context.close()
