"""The bare table of table.py given the page's rows as a pandas frame (what the app gave st.dataframe until
it memoised an Arrow table, and the yardstick the issue's targets were set against): st.dataframe then
converts the frame to Arrow on every rerun. Shown beside table.py, not a target of its own."""

import streamlit as st

from bench.floors import DATA

st.dataframe(
    DATA["pandas_frame"],
    column_config=DATA["columns"],
    hide_index=True,
    key="users.table",
    on_select="rerun",
    selection_mode="multi-row",
    width="stretch",
)
