"""The one pager under every listing: Previous, "Page x of y · n things", Next."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def render_pager(
    *,
    page: int,
    pages: int,
    counted: str,
    go_to: Callable[[int], None],
    prev_key: str,
    next_key: str,
) -> None:
    """Previous / Next buttons around "Page **x** of **y** · `counted`" (`page` is 0-based).

    `go_to(n)` runs as the buttons' callback, before the rerun. One horizontal container, not st.columns:
    one layout block instead of one per cell (bench/, issue 9)."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", key=prev_key, disabled=page <= 0, on_click=go_to, args=(page - 1,))
        st.markdown(
            f"Page **{page + 1}** of **{pages}** · {counted}", text_alignment="center", width="stretch"
        )
        st.button("Next", key=next_key, disabled=page + 1 >= pages, on_click=go_to, args=(page + 1,))
