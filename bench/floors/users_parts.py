"""The Users page's parts other than its cards or table, bare, for the page-elements floors (table_page.py,
grid_page.py): the same Streamlit calls as pages/users.py and admin_core/ui/listing.py make on a warm rerun
(title, search row, the listing fragment with its own row, the pager and the export), from constants.

Keep it in step with pages/users.py, ui/listing.render_search / render_view_controls and ui/pager (same
calls, same arguments)."""

from collections.abc import Callable

import streamlit as st

from bench.floors import DATA, noop


def search_row() -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "Search",
            key="users.text",
            placeholder="email, name or nickname (prefix)",
            on_change=noop,
            max_chars=500,
        )
        st.toggle("Advanced (Lucene)", key="users.advanced", on_change=noop, help=DATA["lucene_help"])
        st.checkbox("Blocked", key="users.blocked", on_change=noop)
        st.checkbox("Never logged in", key="users.never", on_change=noop)
        st.selectbox(
            "Connection",
            options=DATA["connections"],
            format_func=lambda c: c or "Any connection",
            key="users.connection",
            accept_new_options=True,
            on_change=noop,
            width=240,
        )


def view_row(view: str) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        sorts = DATA["sorts"]
        st.selectbox(
            "Sort", options=list(sorts), format_func=sorts.get, key="users.sort", on_change=noop, width=220
        )
        st.selectbox("Per page", options=DATA["sizes"], key="users.size", on_change=noop, width=110)
        if "users.view" not in st.session_state:
            st.session_state["users.view"] = view
        st.segmented_control("View", options=["grid", "table"], key="users.view", format_func=str.title,
                             required=True)  # fmt: skip


def pager_and_export() -> None:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", key="page.prev", disabled=True, on_click=noop, args=(-1,))
        st.markdown(DATA["pager"], text_alignment="center", width="stretch")
        st.button("Next", key="page.next", on_click=noop, args=(1,))
    for note in DATA["capped"]:
        st.caption(note)
    st.button(
        DATA["export"], key="users.export", help="Auth0 serves at most the first 1,000 results of a search."
    )
    # The whole-tenant export's idle state (admin_core/ui/export_all.py), drawn inside the listing.
    st.caption(
        "Export the whole tenant: every user, past the 1,000-result limit of a search, through Auth0's "
        "export job. It runs on the server (you can keep working) and gives a gzip-compressed file with "
        "the table's columns."
    )
    st.segmented_control(
        "File format", ["csv", "json"], format_func=str.upper, default="csv", key="export.fmt"
    )
    with st.container(horizontal=True):
        st.button("Export all users", key="export.all", icon=":material/cloud_download:")


def listing_alone(view: str, results: Callable[[], None]) -> None:
    """The listing fragment's own elements, without the page around it: what a rerun of the listing alone
    draws (its row, the cards or table, the pager, the export)."""
    view_row(view)
    results()
    pager_and_export()


def users_page(view: str, results: Callable[[], None]) -> Callable[[], None]:
    """The Users page around `results` (the cards or the table), as a page body for in_app_frame."""

    # The table and its bulk bar are a fragment inside the listing, as in pages/users.py (table_rows).
    rows = st.fragment(key="users.rows")(results) if view == "table" else results

    @st.fragment(key="users.listing")
    def listing() -> None:
        view_row(view)
        rows()
        pager_and_export()

    def page() -> None:
        st.title("Users")
        search_row()
        listing()

    return page
