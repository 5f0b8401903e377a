"""The Users table page's elements, bare: the same Streamlit calls as app.py and pages/users.py make for a
warm rerun of the table view (page config, menu, header, title, search row, and the listing fragment: its
own row, the 100-row table, the bulk bar's hint, pager, export), fed from constants in memory. No sign-in,
settings, data access, caching, URL state or formatting.

Its warm rerun is what Streamlit itself costs for that page (the target: the page's warm rerun within 1.25x
of it); next to the bare table floor (table.py) it shows how much of the page's cost is its controls rather
than its data. Keep it in step with app.py, admin_core.ui.chrome.header, pages/users.py and the parts it
calls (bench/floors/users_parts.py says which): same calls, same arguments."""

import streamlit as st

from bench.floors import DATA, in_app_frame
from bench.floors.users_parts import users_page


def table(frame=None) -> None:
    """The table and its bulk bar's hint (`DATA["frame"]` unless another is given: floors/step.py)."""
    st.dataframe(
        DATA["frame"] if frame is None else frame,
        column_config=DATA["columns"],
        hide_index=True,
        key="users.table",
        on_select="rerun",
        selection_mode="multi-row",
        width="stretch",
    )
    st.caption("Tick rows to delete, block or unblock several users at once.")


if __name__ == "__main__":  # run as a floor (step_listing.py imports `table`)
    in_app_frame("users", users_page("table", table))
