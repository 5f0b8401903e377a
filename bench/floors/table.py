"""Floor of the Users table: a bare st.dataframe of the same 100 rows with the same column_config, given as
the app gives them (an Arrow table, admin_core.ui.cards.users_table)."""

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
