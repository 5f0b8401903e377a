"""Floor of the Users table: a bare st.dataframe of the same 100 rows with the same column_config."""

import streamlit as st

from bench.floors import DATA

st.dataframe(
    DATA["frame"],
    column_config=DATA["columns"],
    hide_index=True,
    key="users.table",
    on_select="rerun",
    selection_mode="multi-row",
    width="stretch",
)
