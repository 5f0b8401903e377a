"""The Users page's listing is an st.fragment: its own interactions rerun it alone, not the page.

AppTest against the dev tenant over real HTTP. Each interaction is sent as the browser sends a click inside
the fragment: a rerun of the listing's fragment alone (tests/support/fragments.py). The page counts its own
runs and its listing's (`users.runs` in session state), and the tree of a fragment's rerun holds only what
the fragment drew: no header, no title, no search row. The browser side (URL, menu) is
tests/browser/test_listing_fragment.py. The table and its bulk bar are a fragment inside the listing
(`users.rows`): ticking rows reruns only it. (Details from a fragment's rerun switches page: AppTest cannot
show that, its fragment runs have no `st.navigation` pages; the browser test does.)
"""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY, LAST_SEEN_KEY
from tests.support.fragments import LISTING, ROWS, fragment_ids, rerun_fragment
from tests.support.markdown import visible

RUNS = "users.runs"


def runs(at: AppTest) -> dict[str, int]:
    return dict(at.session_state[RUNS])


def pager_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Page **"))


def assert_listing_only(at: AppTest, before: dict[str, int]) -> None:
    """The last run was the listing's alone: the page did not run, and nothing outside it was drawn."""
    assert not at.exception, [e.value for e in at.exception]
    after = runs(at)
    assert after["page"] == before["page"], "the page ran"
    assert after["listing"] == before["listing"] + 1
    assert not at.title  # st.title("Users") is outside the listing
    assert not [b for b in at.button if b.key == "header.logout"]  # app.py's header
    assert not [t for t in at.text_input if t.key == "users.text"]  # the search row


def test_paging_sort_size_and_view_rerun_only_the_listing_and_write_the_url(sign_in):
    at = sign_in("admin")
    assert runs(at) == {"page": 1, "listing": 1}
    assert len(fragment_ids(at, LISTING)) == 1

    before = runs(at)
    at.button(key="page.next").click()
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert pager_text(at).startswith("Page **2** of")
    assert at.query_params == {"page": "1"}

    before = runs(at)
    at.button(key="page.prev").click()
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert pager_text(at).startswith("Page **1** of")
    assert at.query_params == {}

    before = runs(at)
    at.selectbox(key="users.sort").set_value("email")
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert at.query_params == {"sort": "email"}

    before = runs(at)
    at.selectbox(key="users.size").set_value(50)
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert len([b for b in at.button if b.key and b.key.startswith("detail:")]) == 50
    assert at.query_params == {"sort": "email", "size": "50"}

    before = runs(at)
    at.segmented_control(key="users.view").set_value("table")
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert at.dataframe[0].value.shape[0] == 50
    assert at.query_params == {"sort": "email", "size": "50", "view": "table"}

    # A full run afterwards draws the whole page with the view the listing chose.
    at.run()
    assert at.title[0].value == "Users"
    assert at.selectbox(key="users.size").value == 50
    assert at.dataframe[0].value.shape[0] == 50
    assert runs(at)["page"] == before["page"] + 1


def assert_rows_only(at: AppTest, before: dict[str, int]) -> None:
    """The last run was the table's rows fragment alone: neither the page nor the listing ran, and the tree
    holds the table and its bulk bar, not the listing's row of controls, pager or export."""
    assert not at.exception, [e.value for e in at.exception]
    after = runs(at)
    assert (after["page"], after["listing"]) == (before["page"], before["listing"]), "more than the rows ran"
    assert after["rows"] == before["rows"] + 1
    assert not at.title
    assert not [s for s in at.selectbox if s.key in ("users.sort", "users.size")]  # the listing's row
    assert not [b for b in at.button if b.key in ("page.next", "users.export", "export.all")]
    assert at.dataframe[0].value.shape[0] > 0  # the table itself is redrawn


def table_view(at: AppTest) -> AppTest:
    at.segmented_control(key="users.view").set_value("table")
    at = rerun_fragment(at)
    assert len(fragment_ids(at, ROWS)) == 1
    return at


def tick(at: AppTest, rows: list[int]) -> AppTest:
    """Tick rows as the browser does: the selection sent as a rerun of the fragment holding the table."""
    at.session_state["users.table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return rerun_fragment(at, ROWS)


def test_ticking_rows_reruns_only_the_table_and_its_bulk_bar(sign_in):
    at = table_view(sign_in("admin"))
    admin_id = at.session_state[IDENTITY_KEY].sub
    frame = at.dataframe[0].value
    rows = [i for i, uid in enumerate(frame["user_id"]) if uid != admin_id][:2]
    before = runs(at)
    at = tick(at, rows)
    assert_rows_only(at, before)
    assert at.button(key="bulk.delete").label == "Delete 2 selected"
    assert [b.key for b in at.button if b.key.startswith("row-detail:")] == [
        f"row-detail:{frame['user_id'][i]}" for i in rows
    ]
    before = runs(at)
    at = tick(at, [])
    assert_rows_only(at, before)
    assert not [b for b in at.button if b.key == "bulk.delete"]
    assert [c.value for c in at.caption if c.value.startswith("Tick rows")]


def test_delete_selected_opens_its_dialog_from_the_rows_rerun(sign_in, fresh_tenant):
    at = table_view(sign_in("admin"))
    admin_id = at.session_state[IDENTITY_KEY].sub
    frame = at.dataframe[0].value
    rows = [i for i, uid in enumerate(frame["user_id"]) if uid != admin_id][:2]
    at = tick(at, rows)
    before = runs(at)
    at.button(key="bulk.delete").click()
    at = rerun_fragment(at, ROWS)
    assert_rows_only(at, before)
    assert at.button(key="confirm.cancel").label == "Cancel"  # the dialog, opened by the rows' own rerun
    assert "2 users" in " ".join(m.value for m in at.markdown)
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 0


def test_a_card_opens_its_dialog_in_the_listing_and_cancel_reruns_the_page(sign_in, fresh_tenant):
    at = sign_in("admin")
    target = next(b.key for b in at.button if b.key and b.key.startswith("delete:")).split(":", 1)[1]
    before = runs(at)
    at.button(key=f"delete:{target}").click()
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert at.button(key="confirm.cancel").label == "Cancel"  # the dialog, opened by the listing

    # Cancel is inside the dialog (its own fragment); closing it takes a rerun of the whole page (a rerun
    # of the listing alone leaves an open dialog open in the browser).
    before = runs(at)
    at.button(key="confirm.cancel").click()
    at = rerun_fragment(at, None)
    assert runs(at)["page"] == before["page"] + 1
    assert not [b for b in at.button if b.key == "confirm.cancel"]
    assert fresh_tenant.stats()["requests"].get("DELETE /api/v2/users/{id}", 0) == 0


def test_a_block_from_a_card_is_made_and_shown_by_the_listing_alone(sign_in, fresh_tenant):
    at = sign_in("admin")
    everyone = {u["user_id"]: u for u in fresh_tenant.users()}
    target = next(
        everyone[b.key.split(":", 1)[1]]
        for b in at.button
        if b.key and b.key.startswith("block:") and not everyone[b.key.split(":", 1)[1]].get("blocked")
    )
    before = runs(at)
    at.button(key=f"block:{target['user_id']}").click()
    at = rerun_fragment(at)
    assert_listing_only(at, before)
    assert [visible(t.value) for t in at.toast] == [f"Blocked {target['email'] or target['user_id']}"]
    assert at.button(key=f"block:{target['user_id']}").label == "Unblock"  # the listing read again
    assert next(u for u in fresh_tenant.users() if u["user_id"] == target["user_id"])["blocked"] is True


def test_a_listing_rerun_of_an_idle_session_signs_out_instead(sign_in, fresh_tenant):
    """A fragment's rerun skips app.py's gate: the listing checks the session itself."""
    at = sign_in("admin")
    at.session_state[LAST_SEEN_KEY] = time.time() - 30 * 60 - 1  # idle for longer than the limit
    at.button(key="page.next").click()
    at = rerun_fragment(at)
    assert not at.exception
    assert IDENTITY_KEY not in at.session_state
    assert RUNS not in at.session_state  # the page's state went with the session; the page never ran again
    assert not [b for b in at.button if b.key and b.key.startswith(("delete:", "block:", "detail:"))]
