"""The bare listing floor of one listing interaction, drawn as the app's is timed: in one session, the
view the interaction leaves (untimed), then the view it lands on (timed), each as bare Streamlit calls
(the cards of grid.py for a page of users, or the table of table.py), whichever `DATA["step"]` says:
("grid", the cards) or ("table", the rows), or ("rows", the rows) for a tick (the table alone here too).

A floor that only ever redraws the same 24 cards never pays what the app's run pays when the view
changes: dropping the widgets of the view left (after 100 cards, ~300 buttons that Streamlit compares,
resets and removes from session state) and registering the new cards' widgets (other users, other keys)."""

import streamlit as st

from bench.floors import DATA
from bench.floors.grid_page import grid

view, data = DATA["step"]
if view == "grid":
    grid(data)
else:
    st.dataframe(
        data,
        column_config=DATA["columns"],
        hide_index=True,
        key="users.table",
        on_select="rerun",
        selection_mode="multi-row",
        width="stretch",
    )
