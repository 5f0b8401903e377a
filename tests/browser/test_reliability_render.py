"""Reliability case 4 in the browser: hostile user data shows as text in the grid, the table and the person's page.

Names and pictures are data an attacker can set (a self-service sign-up, a social profile). The app must show
them literally: no element made from a name, no script run, no `javascript:` link, no layout broken by size.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import ADMIN, open_signed_out, shown, sign_in, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.case("4 hostile input")]

IMG_NAME = "<img src=x onerror=alert(1)>"
MD_NAME = "**bold** [link](javascript:alert(1))"
PIC_NAME = "Hostile Picture"
JS_PICTURE = "javascript:alert(1)"
LONG_NAME = "L" + "o" * 9_999  # 10,000 characters without a single place to break the line
NAME_PREFIX = LONG_NAME[:40]  # what the card shows of it begins like this
LINK_NAME = "Reset at https://203.0.113.9/reset or www.evil.example"
HOSTLESS_NAME = "Hostless Picture"
TRACKER_NAME = "Tracker Picture"
TOAST_NAME = "Toast Target"
TOAST_EMAIL = "hostile-![x](https://evil.example/p.png)[verify](https://evil.example/login)@evil.test"
SEARCH = "hostile-"

HOSTILE = (
    {"email": "hostile-img@evil.test", "name": IMG_NAME},
    {"email": "hostile-pic@evil.test", "name": PIC_NAME, "picture": JS_PICTURE},
    {"email": "hostile-md@evil.test", "name": MD_NAME},
    {"email": "hostile-long@evil.test", "name": LONG_NAME},
    {"email": "hostile-link@evil.test", "name": LINK_NAME},
    {"email": "hostile-hostless@evil.test", "name": HOSTLESS_NAME, "picture": "https:avatar.png"},
    {
        "email": "hostile-tracker@evil.test",
        "name": TRACKER_NAME,
        "picture": "https://tracker.evil.example/p.png",
    },
    {"email": TOAST_EMAIL, "name": TOAST_NAME},
)

# Everything a hostile name could have turned into, looked for in the page and in every frame.
FOUND_IN_DOM = """() => {
  const js = (v) => (v || '').replace(/[\\s\\u0000-\\u001f]+/g, '').toLowerCase().startsWith('javascript:');
  const hostile = (v) => /evil\\.example|evil\\.test|203\\.0\\.113\\.9|^mailto:/i.test(v || '');
  const out = {jsLinks: [], xImages: [], boldFromName: [], jsSources: [], hostileLinks: [], hostileImages: []};
  for (const a of document.querySelectorAll('a[href], area[href]')) {
    if (js(a.getAttribute('href'))) out.jsLinks.push(a.outerHTML.slice(0, 200));
    if (hostile(a.getAttribute('href'))) out.hostileLinks.push(a.outerHTML.slice(0, 200));
  }
  for (const img of document.querySelectorAll('img, image, source')) {
    const src = img.getAttribute('src') || img.getAttribute('href') || img.getAttribute('srcset') || '';
    if (hostile(src)) out.hostileImages.push(img.outerHTML.slice(0, 200));
  }
  for (const img of document.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (src === 'x' || /\\/x$/.test(img.src)) out.xImages.push(img.outerHTML.slice(0, 200));
    if (js(src)) out.jsSources.push(img.outerHTML.slice(0, 200));
  }
  for (const el of document.querySelectorAll('[src], [action], [formaction]')) {
    for (const attr of ['src', 'action', 'formaction']) {
      if (js(el.getAttribute(attr))) out.jsSources.push(el.outerHTML.slice(0, 200));
    }
  }
  for (const b of document.querySelectorAll('strong, b')) {
    if (b.textContent.trim() === 'bold') out.boldFromName.push(b.outerHTML);
  }
  return out;
}"""


# Descendants of a column whose visible part (after clipping by overflow:hidden/clip/auto ancestors inside
# the column) reaches past `right`.
VISIBLE_OVERFLOW = """(col, right) => {
  const out = [];
  for (const el of col.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    let visibleRight = r.right;
    for (let a = el.parentElement; a && a !== col.parentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible') visibleRight = Math.min(visibleRight, a.getBoundingClientRect().right);
    }
    if (visibleRight > right) out.push([Math.round(visibleRight), el.outerHTML.slice(0, 160)]);
  }
  return out.slice(0, 5);
}"""


@pytest.fixture(scope="module")
def hostile_users(reliability_tenant):
    existing = {u.get("email") for u in reliability_tenant.users()}
    for user in HOSTILE:
        if user["email"] not in existing:
            reliability_tenant.create_user(**user)
    return HOSTILE


def assert_nothing_made_from_names(page: Page, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(300)  # an onerror handler fires as soon as the image fails; give it a moment
    for frame in page.frames:
        if frame.is_detached():
            continue
        found = frame.evaluate(FOUND_IN_DOM)
        assert found == {
            "jsLinks": [],
            "xImages": [],
            "boldFromName": [],
            "jsSources": [],
            "hostileLinks": [],
            "hostileImages": [],
        }, f"{where}: hostile user data became markup in {frame.url}: {found}"
    assert dialogs == [], f"{where}: a script from user data ran and opened dialogs: {dialogs}"


def assert_within_window(page: Page, where: str) -> None:
    """No side scroll: nothing made of a name pushes the page wider than the window."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), where


def card_column(page: Page, text: str):
    """The grid column holding the card that shows `text` (the one column with both the text and Details)."""
    return (
        page.get_by_test_id("stColumn")
        .filter(has_text=shown(text, exact=False))
        .filter(has=page.get_by_role("button", name="Details", exact=True))
    )


def initials_only(page: Page, name: str) -> None:
    picture = card_column(page, name).locator("img")
    expect(picture).to_have_count(1)
    assert picture.evaluate("img => img.src").startswith("data:image/svg+xml"), picture.evaluate(
        "img => img.outerHTML"
    )


def test_hostile_names_and_pictures_show_as_text_in_grid_table_and_person_page(
    page, reliability_app, reliability_tenant, hostile_users
):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(f"{dialog.type}: {dialog.message}"), dialog.dismiss()))
    hosts: set[str] = set()
    page.context.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))

    open_signed_out(page, reliability_app.url("/"))
    sign_in(page, ADMIN)
    box = page.get_by_label("Search")
    box.fill(SEARCH)
    box.press("Enter")
    wait_idle(page)

    # --- grid: the names as typed, four cards, nothing rendered from them -------------------------------
    expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(len(HOSTILE))
    for name in (IMG_NAME, MD_NAME, PIC_NAME, LINK_NAME, HOSTLESS_NAME, TRACKER_NAME, TOAST_NAME):
        expect(page.get_by_text(shown(name))).to_be_visible()
    expect(page.get_by_text(NAME_PREFIX).first).to_be_visible()
    assert_nothing_made_from_names(page, dialogs, "grid")

    # The picture `javascript:alert(1)` is replaced by the initials avatar, an inert image.
    picture = card_column(page, PIC_NAME).locator("img")
    expect(picture).to_have_count(1)
    assert picture.evaluate("img => img.src").startswith(("http://", "https://", "data:image/")), (
        picture.evaluate("img => img.outerHTML")
    )
    # A picture with a scheme and no host, and one on a host outside AVATAR_HOSTS: initials, no request.
    initials_only(page, HOSTLESS_NAME)
    initials_only(page, TRACKER_NAME)
    # The card's email line, as text (clipped to 80 characters).
    expect(page.get_by_text(shown(TOAST_EMAIL[:70], exact=False)).first).to_be_visible()

    # The long name: the card keeps to its column, nothing in it sticks out, the page gets no side scroll.
    column = card_column(page, NAME_PREFIX)
    expect(column).to_have_count(1)
    card = column.locator(":scope > [data-testid='stVerticalBlock'] > *").first  # the bordered card
    column_box, card_box = column.bounding_box(), card.bounding_box()
    assert column_box and card_box
    assert card_box["width"] <= column_box["width"] + 2, (card_box, column_box)
    assert card_box["x"] >= column_box["x"] - 2, (card_box, column_box)
    sticking_out = column.evaluate(VISIBLE_OVERFLOW, column_box["x"] + column_box["width"] + 2)
    assert sticking_out == [], f"parts of the long name's card show outside its column: {sticking_out}"
    # All four cards stay the same width: the long one does not push its neighbours.
    widths = [
        card_column(page, text).bounding_box()["width"] for text in (IMG_NAME, PIC_NAME, MD_NAME, LINK_NAME)
    ]
    assert all(abs(w - column_box["width"]) <= 2 for w in widths), (widths, column_box)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reliability-hostile-grid.png"), full_page=True)

    # --- the page of each hostile user (Details opens /user?id=...): each tab, then back to the list ------
    for text, full in (
        (IMG_NAME, IMG_NAME),
        (MD_NAME, MD_NAME),
        (PIC_NAME, PIC_NAME),
        (NAME_PREFIX, LONG_NAME),
        (LINK_NAME, LINK_NAME),
        (TRACKER_NAME, TRACKER_NAME),
    ):
        card_column(page, text).get_by_role("button", name="Details", exact=True).click()
        expect(page.get_by_role("heading", name="Summary")).to_be_visible()
        wait_idle(page)
        where = f"page of {full[:40]!r}"
        # The heading holds the name as text (an endless one clipped like on its card, in full on hover).
        heading = page.get_by_role("heading", level=2).filter(has_text=shown(full[:40], exact=False)).first
        expect(heading).to_be_visible()
        assert_nothing_made_from_names(page, dialogs, f"{where}, Summary")
        assert_within_window(page, where)
        if full is LONG_NAME:
            page.screenshot(path=str(ARTIFACTS / "reliability-hostile-page-long-name.png"))
        for tab in ("Activity", "Security", "Profile"):
            page.get_by_role("tab", name=tab).click()
            expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
            wait_idle(page)
            assert_nothing_made_from_names(page, dialogs, f"{where}, {tab}")
            assert_within_window(page, f"{where}, {tab}")
        # The Profile tab shows the whole name, as the text it is.
        expect(page.get_by_role("tabpanel").get_by_text(shown(full)).first).to_be_attached()
        page.get_by_role("button", name="Back to the list").click()
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        wait_idle(page)
        expect(page.get_by_role("button", name="Details", exact=True)).to_have_count(len(HOSTILE))

    # --- table view: the grid's cells hold the exact text (the canvas draws it, never parses it) ----------
    page.locator(".st-key-users-view").get_by_role("radio", name="Table").click()
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    cells = table.locator('td[role="gridcell"]')
    expect(cells.filter(has_text=SEARCH).first).to_be_attached()
    texts = cells.evaluate_all("cells => cells.map(c => c.textContent)")
    for name in (IMG_NAME, MD_NAME, PIC_NAME, LONG_NAME):
        assert name in texts, f"table view lacks the literal name {name[:40]!r}"
    assert JS_PICTURE not in texts, "the javascript: picture reached the table as an image URL"
    assert_nothing_made_from_names(page, dialogs, "table")
    assert not {h for h in hosts if "evil" in h}, f"the browser asked hostile hosts: {sorted(hosts)}"
    table_box = table.bounding_box()
    assert table_box and table_box["x"] + table_box["width"] <= page.viewport_size["width"] + 1, table_box
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "reliability-hostile-table.png"), full_page=True)

    # --- the block toast with a hostile email, and Auth0's error text echoing a query: both as text ---------
    page.locator(".st-key-users-view").get_by_role("radio", name="Grid").click()
    wait_idle(page)
    card_column(page, TOAST_NAME).get_by_role("button", name="Block", exact=True).click()
    toast = page.get_by_test_id("stToast").filter(has_text=shown("Blocked " + TOAST_EMAIL, exact=False))
    expect(toast).to_be_visible()
    assert_nothing_made_from_names(page, dialogs, "block toast")
    echoed = "Invalid query: ![x](https://evil.example/p.png) [verify](https://evil.example/login) **zz**"
    reliability_tenant.add_fault(
        method="GET",
        path="/api/v2/users",
        status=400,
        body={
            "statusCode": 400,
            "error": "Bad Request",
            "message": echoed,
            "errorCode": "invalid_query_string",
        },
    )
    box = page.get_by_label("Search")
    box.fill("hostile-echo")
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text=shown(echoed, exact=False))).to_be_visible()
    assert_nothing_made_from_names(page, dialogs, "Auth0 error text")
    assert not {h for h in hosts if "evil" in h or h == "203.0.113.9"}, (
        f"hostile hosts asked: {sorted(hosts)}"
    )
