"""The audit log's CSV in a real browser: built when the button is clicked (download_button with a callable)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, sign_in, wait_idle

pytestmark = pytest.mark.browser


def test_admin_downloads_the_audit_log_as_csv_with_one_click(page, app):
    open_signed_out(page, app.url("/"))
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Audit log").click()  # in-app: a reload would sign the admin out
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    wait_idle(page)
    button = page.get_by_role("button", name="matching")
    expect(button).to_contain_text("as CSV")
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "audit-log.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert any(r["action"] == "sign_in" and r["actor_email"] == ADMIN for r in rows), rows[:3]
