"""The README's screenshots, taken in Chromium against the local dev tenant: `make screenshots`.

Skipped unless SCREENSHOTS=1 (the Makefile target sets it). Writes docs/*.png at 1366x768. For a look at
other sizes without touching docs/: SCREENSHOTS_DIR=/tmp/shots SCREENSHOTS_VIEWPORT=1920x1080 (that also
takes the account page).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    ADMIN,
    BROWSER_TIMEOUT_MS,
    card_delete_buttons,
    open_signed_out,
    sign_in,
    wait_idle,
)
from tests.support.devtenant_proc import DevTenant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.screenshots,
    pytest.mark.skipif(os.environ.get("SCREENSHOTS") != "1", reason="set SCREENSHOTS=1 (make screenshots)"),
]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OUT = Path(os.environ.get("SCREENSHOTS_DIR") or DOCS)
WIDTH, HEIGHT = (int(n) for n in os.environ.get("SCREENSHOTS_VIEWPORT", "1366x768").lower().split("x"))
MAX_BYTES = 400_000
DOCS_SHOTS = (
    "signin",
    "users-grid",
    "users-table",
    "user-page",
    "user-security",
    "user-detail",
    "delete-confirm",
    "delete-toast",
    "overview",
    "audit",
)


@pytest.fixture(scope="module")
def shots_tenant():
    # Its own tenant (same seed as every dev tenant): the same users on every run, none deleted before.
    with DevTenant(users=150, seed=42) as dev:
        yield dev


@pytest.fixture(scope="module")
def shots_app(shots_tenant, start_app_server):
    server = start_app_server(shots_tenant, "screenshots")  # its own, empty audit log
    yield server
    server.stop()


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield ctx
    ctx.close()


def shoot(page: Page, name: str) -> Path:
    """A viewport screenshot, re-encoded with a palette when that is what keeps it under MAX_BYTES."""
    OUT.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, HEIGHT - 1)  # no hover effects or tooltips
    page.wait_for_timeout(400)  # let transitions (dialog fade-in, chart drawing) settle
    data = page.screenshot(animations="disabled", caret="hide")
    if len(data) > MAX_BYTES:
        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        data = buffer.getvalue()
    target = OUT / f"{name}.png"
    target.write_bytes(data)
    assert len(data) < MAX_BYTES, f"{target} is {len(data):,} bytes"
    return target


def go(page: Page, title: str) -> None:
    """Follow the top navigation to another page (keeps the session, unlike a new URL)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    wait_idle(page)


def test_screenshots(page: Page, shots_app, shots_tenant: DevTenant):
    taken: list[Path] = []

    open_signed_out(page, shots_app.url("/"))
    wait_idle(page)
    expect(page.get_by_text("Local dev tenant accounts")).to_be_visible()
    taken.append(shoot(page, "signin"))

    sign_in(page, ADMIN)
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.get_by_role("button", name="Details").first).to_be_visible()
    page.locator('[data-testid="stImage"] img').last.wait_for()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("stToast")).to_have_count(
        0, timeout=max(15_000, BROWSER_TIMEOUT_MS)
    )  # "Signed in as ..." has gone
    taken.append(shoot(page, "users-grid"))

    view = page.locator(".st-key-users-view")
    view.get_by_role("radio", name="Table").click()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_idle(page)
    page.wait_for_timeout(800)  # the grid canvas loads its images
    taken.append(shoot(page, "users-table"))
    view.get_by_role("radio", name="Grid").click()
    expect(card_delete_buttons(page).first).to_be_visible()
    wait_idle(page)

    # The person's page of someone with problems to show: locked out by brute-force protection.
    locked_id = shots_tenant._call("GET", "/__dev/support", params={"n": 1})["locked"][0]
    locked = next(u for u in shots_tenant.users() if u["user_id"] == locked_id)
    search_box = page.get_by_label("Search")
    search_box.fill(locked["email"])
    search_box.press("Enter")
    expect(page.get_by_role("button", name="Details")).to_have_count(1)
    wait_idle(page)
    page.get_by_role("button", name="Details").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    expect(page.get_by_role("tab", name="Activity")).to_be_visible()
    wait_idle(page)
    taken.append(shoot(page, "user-page"))  # the person's page: Summary on top, Activity below
    tabs = page.get_by_role("tablist")
    # The tabs at the top of the window, below the fixed menu bar (the main area is what scrolls).
    to_tabs = (
        "el => { el.scrollIntoView({block: 'start'});"
        " for (const box of document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]'))"
        " { if (box.scrollTop > 0) { box.scrollBy(0, -70); break; } } }"
    )
    page.get_by_role("tab", name="Security").click()
    wait_idle(page)
    tabs.evaluate(to_tabs)
    taken.append(shoot(page, "user-security"))
    page.get_by_role("tab", name="Profile").click()
    expect(page.get_by_text("Identities", exact=True)).to_be_visible()
    wait_idle(page)
    tabs.evaluate(to_tabs)
    taken.append(shoot(page, "user-detail"))
    page.get_by_role("button", name=re.compile("^Back to the")).click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    wait_idle(page)
    search_box = page.get_by_label("Search")
    expect(search_box).to_have_value(locked["email"])  # the way back keeps the search
    search_box.fill("")
    search_box.press("Enter")
    expect(card_delete_buttons(page).nth(1)).to_be_visible()
    wait_idle(page)

    card_delete_buttons(page).nth(1).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Delete users?")).to_be_visible()
    wait_idle(page)
    taken.append(shoot(page, "delete-confirm"))
    dialog.get_by_role("button", name="Delete", exact=True).click()
    toast = page.get_by_test_id("stToast").filter(has_text="Deleted")
    expect(toast).to_be_visible()
    expect(dialog).to_have_count(0)
    wait_idle(page)
    page.mouse.move(0, HEIGHT - 1)
    taken.append(shoot(page, "delete-toast"))
    expect(toast).to_have_count(
        0, timeout=max(15_000, BROWSER_TIMEOUT_MS)
    )  # gone by itself, so it is not on the next pictures

    go(page, "Overview")
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.wait_for_timeout(1000)
    taken.append(shoot(page, "overview"))

    go(page, "Audit log")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    page.wait_for_timeout(500)
    taken.append(shoot(page, "audit"))

    if OUT != DOCS:
        go(page, "Account")
        taken.append(shoot(page, "account"))

    names = {p.stem for p in taken}
    assert set(DOCS_SHOTS) <= names, names
    shots_app.check_alive()
    print("\n".join(f"{p} {p.stat().st_size:,} bytes" for p in taken))
