"""The Users table page's elements, bare: the same Streamlit calls as app.py and pages/users.py make for a
warm rerun of the table view (page config, menu, header, controls, the 100-row table, pager, export), fed
from constants in memory. No sign-in, settings, data access, caching, URL state or formatting.

Its warm rerun is what Streamlit itself costs for that page; next to the bare table floor (table.py) it
shows how much of the page's cost is its controls rather than its data. Keep it in step with app.py,
admin_core.ui.chrome.header, pages/users.py and the parts it calls (ui/listing.render_controls,
ui/cards.render_table, ui/pager.render_pager): same calls, same arguments."""

import streamlit as st

from bench.floors import DATA, in_app_frame, noop


def users_page() -> None:
    st.title("Users")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "Search",
            key="users.text",
            placeholder="email, name or nickname (prefix)",
            on_change=noop,
            max_chars=500,
        )
        st.toggle("Advanced (Lucene)", key="users.advanced", on_change=noop, help=DATA["lucene_help"])
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.checkbox("Blocked", key="users.blocked", on_change=noop)
        st.checkbox("Never logged in", key="users.never", on_change=noop)
        st.selectbox(
            "Connection",
            options=DATA["connections"],
            format_func=lambda c: c or "Any connection",
            key="users.connection",
            accept_new_options=True,
            on_change=noop,
        )
        sorts = DATA["sorts"]
        st.selectbox("Sort", options=list(sorts), format_func=sorts.get, key="users.sort", on_change=noop)
        st.selectbox("Per page", options=DATA["sizes"], key="users.size", on_change=noop, width=110)
        if "users.view" not in st.session_state:
            st.session_state["users.view"] = "table"
        st.segmented_control("View", options=["grid", "table"], key="users.view", format_func=str.title,
                             required=True)  # fmt: skip
    st.dataframe(
        DATA["frame"],
        column_config=DATA["columns"],
        hide_index=True,
        key="users.table",
        on_select="rerun",
        selection_mode="multi-row",
        width="stretch",
    )
    st.caption("Tick rows to delete, block or unblock several users at once.")
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", key="page.prev", disabled=True, on_click=noop, args=(-1,))
        st.markdown(DATA["pager"], text_alignment="center", width="stretch")
        st.button("Next", key="page.next", on_click=noop, args=(1,))
    for note in DATA["capped"]:
        st.caption(note)
    st.button(
        DATA["export"], key="users.export", help="Auth0 serves at most the first 1,000 results of a search."
    )


in_app_frame("users", users_page)
