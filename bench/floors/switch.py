"""The bare listing floor of a view switch: in one session, the bare cards of the page (grid.py's calls)
or the bare table of it (table.py's call), whichever `DATA["switch_to"]` says. The bench draws the view
switched from, then times the view switched to, as it times the app's switch: that run discards the
other view's elements and widgets first (after 100 cards: ~300 buttons in session state, which Streamlit
compares, resets and drops), which a floor that only ever draws the table never pays."""

import streamlit as st

from bench.floors import DATA
from bench.floors.grid_page import grid

if DATA["switch_to"] == "grid":
    grid()
else:
    st.dataframe(
        DATA["frame"],
        column_config=DATA["columns"],
        hide_index=True,
        key="users.table",
        on_select="rerun",
        selection_mode="multi-row",
        width="stretch",
    )
