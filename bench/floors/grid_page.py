"""The Users grid page's elements, bare: the same Streamlit calls as app.py and pages/users.py make for a
warm rerun of the grid view (page config, menu, header, title, search row, and the listing fragment: its own
row, the 24 cards, pager, export), fed from constants in memory. The grid's counterpart of table_page.py
(the target: the page's warm rerun within 1.25x of it). Keep it in step with grid.py and users_parts.py."""

import streamlit as st

from bench.floors import DATA, in_app_frame, noop
from bench.floors.users_parts import users_page


def grid(cards: list[dict] | None = None) -> None:
    """The bare cards (`DATA["cards"]` unless others are given: floors/step.py draws other pages too)."""
    cards = DATA["cards"] if cards is None else cards
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


if __name__ == "__main__":  # run as a floor (step.py and step_listing.py import `grid`)
    in_app_frame("users", users_page("grid", grid))
