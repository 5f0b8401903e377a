"""The Users listing is an st.fragment: in a real browser, each of its interactions reruns only it, and the
URL and the menu stay right.

Which runs the server made is read from its own messages on the websocket: every run ends with a
ForwardMsg `script_finished`, FINISHED_FRAGMENT_RUN_SUCCESSFULLY for a fragment's run alone and
FINISHED_SUCCESSFULLY for a run of the whole app. Playwright's `page.url` can lag behind history.pushState
(Streamlit's URL updates), so the address is read from the page's own `location`.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser.helpers import (
    ADMIN,
    BROWSER_TIMEOUT_MS,
    card_delete_buttons,
    open_signed_out,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

FRAGMENT_RUN = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
FULL_RUN = ForwardMsg.FINISHED_SUCCESSFULLY
MENU = ["Users", "Overview", "Audit log", "Account", "New user"]


class Runs:
    """The script runs the server reported on this page's websocket, as script_finished statuses."""

    def __init__(self, page: Page):
        self.statuses: list[int] = []
        page.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:  # not a ForwardMsg (never seen; a decoding error must not fail the page)
            return
        if msg.WhichOneof("type") == "script_finished":
            self.statuses.append(msg.script_finished)

    def since(self, mark: int) -> list[int]:
        return [s for s in self.statuses[mark:] if s != ForwardMsg.FINISHED_EARLY_FOR_RERUN]


def params(page: Page) -> dict[str, str]:
    location = page.evaluate("() => document.location.href")
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def path(page: Page) -> str:
    return urlsplit(page.evaluate("() => document.location.href")).path


def assert_menu(page: Page) -> None:
    """The top menu lists the admin's pages, Users shown as the current one."""
    links = page.get_by_test_id("stTopNavLink")
    expect(links.filter(has_text="Users").first).to_be_visible()
    assert [t.split("\n")[-1].strip() for t in links.all_inner_texts()] == MENU  # after each icon's name
    current = page.locator("[data-testid=stTopNavLink][aria-current=page]")
    expect(current).to_have_count(1)
    assert current.inner_text().split("\n")[-1].strip() == "Users"


def act(page: Page, runs: Runs, action, *, expect_run: int = FRAGMENT_RUN) -> None:
    """Do `action`, wait for the app to settle, and check the one run it caused was of the kind expected."""
    mark = len(runs.statuses)
    action()
    deadline = time.monotonic() + BROWSER_TIMEOUT_MS / 1000
    while not runs.since(mark) and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # Playwright delivers websocket frames while it waits
    wait_idle(page)
    page.wait_for_timeout(300)  # a second run, if the action caused one, would show by now
    assert runs.since(mark) == [expect_run], runs.since(mark)
    assert_menu(page)


def pager(page: Page):
    return page.get_by_text("Page ", exact=False).filter(has_text=" of ")


def test_listing_interactions_rerun_only_the_listing_with_the_url_and_the_menu_right(page, app):
    runs = Runs(page)
    open_signed_out(page, app.url("/"))
    sign_in(page, ADMIN)
    expect(card_delete_buttons(page).first).to_be_visible()
    assert_menu(page)
    assert params(page) == {}

    # Next and previous page.
    act(page, runs, lambda: page.get_by_role("button", name="Next").click())
    expect(pager(page).first).to_contain_text("Page 2 of")
    assert params(page) == {"page": "1"}
    act(page, runs, lambda: page.get_by_role("button", name="Previous").click())
    expect(pager(page).first).to_contain_text("Page 1 of")
    assert params(page) == {}

    # Sort and per page.
    def pick(key: str, option: str):
        def do():
            box = page.locator(f".st-key-users-{key} input")
            box.click()
            box.fill(option)  # the selectbox filters its options by what is typed; Enter takes the first
            box.press("Enter")

        return do

    act(page, runs, pick("sort", "Email (A-Z)"))
    assert params(page) == {"sort": "email"}
    act(page, runs, pick("size", "50"))
    expect(card_delete_buttons(page)).to_have_count(49)  # 50 cards, the admin's own without Delete
    assert params(page) == {"sort": "email", "size": "50"}

    # The grid/table switch.
    view = page.locator(".st-key-users-view")
    act(page, runs, lambda: view.get_by_role("radio", name="Table").click())
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}

    # Ticking rows: the bulk bar appears.
    grid = page.get_by_test_id("stDataFrame")
    box = grid.bounding_box()
    assert box is not None

    def tick_first_row():
        # Glide data grid: the row-marker column is the first ~40 px; row 1 is below the 35 px header.
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)

    def tick_row(n: int):
        # Glide data grid: the row-marker column is the first ~40 px; rows are 35 px below a 35 px header.
        return lambda: page.mouse.click(box["x"] + 18, box["y"] + 35 * n + 17)

    # Ticking reruns only the table and its bulk bar (a fragment inside the listing): still a fragment's
    # run, the URL and the menu unchanged. Row 2 (sorted by email) is the admin's own, left out of bulk
    # actions, so the second row ticked is row 3.
    act(page, runs, tick_first_row)
    expect(page.get_by_role("button", name="Delete 1 selected")).to_be_visible()
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}
    act(page, runs, tick_row(3))
    expect(page.get_by_role("button", name="Delete 2 selected")).to_be_visible()
    expect(page.get_by_role("button", name="Details:", exact=False)).to_have_count(2)
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}

    # Delete n selected opens its dialog from the table's own rerun; Escape closes it (a listing rerun).
    rows_dialog = page.get_by_role("dialog")
    act(page, runs, lambda: page.get_by_role("button", name="Delete 2 selected").click())
    expect(rows_dialog.get_by_text("Deletion in Auth0 cannot be undone.")).to_be_visible()
    act(page, runs, lambda: page.keyboard.press("Escape"))
    expect(rows_dialog).to_have_count(0)
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}

    # Unticking (the bulk bar goes; its hint comes back).
    act(page, runs, tick_row(3))
    expect(page.get_by_role("button", name="Delete 1 selected")).to_be_visible()
    act(page, runs, tick_first_row)
    expect(page.get_by_text("Tick rows to delete, block or unblock several users at once.")).to_be_visible()
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}

    # A ticked row's Details opens the person's page from the table's own rerun (a switch of page), and
    # "Back to the list" returns to the table.
    act(page, runs, tick_first_row)
    page.get_by_role("button", name="Details:", exact=False).first.click()
    expect(page.get_by_role("button", name="Back to the list")).to_be_visible()
    assert path(page) == "/user"
    wait_idle(page)
    page.wait_for_timeout(300)  # the person page's run reported, so the next act counts only its own
    act(page, runs, lambda: page.get_by_role("button", name="Back to the list").click(), expect_run=FULL_RUN)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    assert params(page) == {"sort": "email", "size": "50", "view": "table"}
    assert_menu(page)

    act(page, runs, lambda: view.get_by_role("radio", name="Grid").click())
    expect(card_delete_buttons(page).first).to_be_visible()
    assert params(page) == {"sort": "email", "size": "50"}

    # Opening a dialog reruns only the listing; Escape closes it and reruns only the listing; Cancel
    # closes it with a rerun of the page (a listing rerun leaves an open dialog open).
    dialog = page.get_by_role("dialog")
    act(page, runs, lambda: card_delete_buttons(page).first.click())
    expect(dialog.get_by_text("Deletion in Auth0 cannot be undone.")).to_be_visible()
    act(page, runs, lambda: page.keyboard.press("Escape"))
    expect(dialog).to_have_count(0)
    act(page, runs, lambda: card_delete_buttons(page).first.click())
    expect(dialog.get_by_text("Deletion in Auth0 cannot be undone.")).to_be_visible()
    act(page, runs, lambda: dialog.get_by_role("button", name="Cancel").click(), expect_run=FULL_RUN)
    expect(dialog).to_have_count(0)
    assert params(page) == {"sort": "email", "size": "50"}
    assert path(page) == "/"

    # A search reruns the page, and the listing's own controls keep their values.
    box_ = page.get_by_label("Search")
    act(page, runs, lambda: (box_.fill("ada"), box_.press("Enter")), expect_run=FULL_RUN)
    assert params(page) == {"text": "ada", "sort": "email", "size": "50"}

    # Details, from inside the listing, opens the person's page (a switch of page from a fragment's run).
    page.get_by_role("button", name="Details").first.click()
    expect(page.get_by_role("button", name="Back to the list")).to_be_visible()
    assert path(page) == "/user"
    page.get_by_role("button", name="Back to the list").click()
    wait_idle(page)
    expect(page.get_by_role("button", name="Details").first).to_be_visible()
    assert params(page) == {"text": "ada", "sort": "email", "size": "50"}
    assert_menu(page)
