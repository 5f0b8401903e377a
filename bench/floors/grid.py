"""Floor of the Users grid: the same 24 cards' Streamlit calls (containers, columns, image, markdown,
caption, buttons) from strings prepared in memory. No data access, auth, caching or formatting.

Keep it in step with `admin_core.ui.cards.render_grid` and `render_card` (same calls, same arguments)."""

import streamlit as st

from bench.floors import DATA, noop

cards = DATA["cards"]
for start in range(0, len(cards), 4):
    columns = st.columns(4)
    for column, card in zip(columns, cards[start : start + 4], strict=False):
        with column, st.container(border=True, key=card["container_key"]):
            pic, text = st.columns([1, 3], vertical_alignment="center")
            with pic:
                st.image(card["avatar"], width=56)
            with text:
                st.markdown(card["name"], help=card["name_help"], wrap=False)
                st.caption(card["email"], wrap=False)
            st.markdown(card["badges"], wrap=False)
            st.markdown(card["login"], wrap=False)
            st.caption(card["created"], wrap=False)
            cols = st.columns(len(card["buttons"]))
            for col, (label, key, kind) in zip(cols, card["buttons"], strict=True):
                col.button(label, key=key, on_click=noop, args=(card["id"],), type=kind, width="stretch")
