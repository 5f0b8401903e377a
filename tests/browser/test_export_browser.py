"""Export all users in a real browser: the job runs on the server, progress shows, then the file downloads."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import ADMIN, open_signed_out, sign_in, wait_idle

pytestmark = pytest.mark.browser


def test_export_all_then_download_gives_every_user(page, app, browser_tenant):
    browser_tenant.set_exports(users_per_second=15)  # 153 users: about 10 s of "processing" at Auth0
    try:
        export_and_download(page, app, browser_tenant)
    finally:
        browser_tenant.set_exports(users_per_second=5000)


def export_and_download(page, app, browser_tenant) -> None:
    open_signed_out(page, app.url("/"))
    sign_in(page, ADMIN)
    page.get_by_role("button", name="Export all users", exact=True).click()
    # the progress shows and moves while Auth0 prepares the file; the listing stays usable
    expect(page.get_by_text("Auth0 is preparing the file of every user (CSV)")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel export")).to_be_visible()
    download_button = page.get_by_role("button", name="Download users.csv.gz")
    expect(download_button).to_be_visible(timeout=60_000)
    wait_idle(page)
    with page.expect_download() as download:
        download_button.click()
    assert download.value.suggested_filename == "users.csv.gz"
    data = Path(download.value.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))
    users = browser_tenant.users()
    assert {r["user_id"] for r in rows} == {u["user_id"] for u in users}
    assert {r["email"] for r in rows} == {u.get("email") or "" for u in users}
    page.get_by_role("button", name="Done", exact=True).click()
    expect(page.get_by_role("button", name="Export all users", exact=True)).to_be_visible()
