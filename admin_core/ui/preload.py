"""The code of the signed-in page's widgets, loaded while the person is still on the sign-in screen.

Streamlit's frontend loads each kind of widget's JavaScript only when the first one is drawn, and shows a
grey placeholder until then: after a sign-in, the Users page's text input, selects, checkboxes, view switch,
avatars and buttons waited 1-2.5 s for about 40 chunks requested only once the page arrived (bench/signin.py,
issue 19). The sign-in screen imports those chunks in the page itself while the person types their password;
the frontend's own lazy imports of the same files then find them loaded (the browser keeps one module per
URL). One of each of those widgets is also drawn there, in a container never displayed: React suspends each
kind of lazily loaded element the first time it renders, even with its code loaded, and the cards' avatars
stayed placeholders for seconds after the page had arrived. So the page is usable as soon as it is drawn.

Chunk files are named `<Element>.<hash>.js` by Streamlit's build; they are looked up in the installed
Streamlit (tests/unit/test_preload.py fails when an upgrade renames one). Only their file names go into the
page, and the script imports them relative to Streamlit's own main script, so a base URL path still works.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import streamlit as st

# The elements the signed-in header and the Users page draw first whose code is loaded on demand (read off
# the chunks a cold browser fetched after the popup closed; each pulls in its own shared chunks).
SIGNED_IN_ELEMENTS = (
    "Button",  # the header's Log out, the cards' Details / Block / Delete, the pager
    "Html",  # the header's style
    "Toast",  # "Signed in as ..."
    "TextInput",  # the search box
    "Selectbox",  # sort, per page, connection
    "Checkbox",  # the filters
    "ButtonGroup",  # the grid / table switch
    "ImageList",  # the cards' avatars
)
STATIC_JS = Path(st.__file__).resolve().parent / "static" / "static" / "js"
LOADED_MARK = "widgetCode"  # <html data-widget-code="loaded"> once every chunk is in (browser tests wait)


@cache
def chunk_files(names: tuple[str, ...] = SIGNED_IN_ELEMENTS, folder: Path = STATIC_JS) -> tuple[str, ...]:
    """The installed Streamlit's chunk file for each element name (those it has exactly one of)."""
    try:
        files = [p.name for p in folder.iterdir() if p.suffix == ".js"]
    except OSError:
        return ()
    found = []
    for name in names:
        matches = [f for f in files if re.fullmatch(rf"{re.escape(name)}\.[\w-]+\.js", f)]
        if len(matches) == 1:
            found.append(matches[0])
    return tuple(found)


def _script(files: tuple[str, ...]) -> str:
    return (
        "<script>(function () {"
        "  var main = document.querySelector('script[type=module][src*=\"static/js/index.\"]');"
        "  if (!main) { return; }"
        "  var base = new URL('.', main.src);"
        f"  var files = {json.dumps(list(files))};"
        "  Promise.all(files.map(function (f) { return import(new URL(f, base).href); }))"
        f"    .then(function () {{ document.documentElement.dataset.{LOADED_MARK} = 'loaded'; }})"
        "    .catch(function () {});"  # a chunk that fails now is fetched again when its widget is drawn
        "})();</script>"
    )


HIDDEN_KEY = "sign-in-widget-warmup"
_PIXEL = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def preload_signed_in_widgets() -> None:
    """Draws nothing a person sees: a script that imports the signed-in page's widget code, and one of each
    of its first widgets in a container that is never displayed. Importing the code is not all: React
    still suspends each kind of element the first time it is drawn (a grey placeholder for up to ~0.5 s,
    React's reveal throttle), and the 24 avatars of the Users page waited for that after the page had
    arrived; drawn once here, hidden, they are ready."""
    files = chunk_files()
    if files:
        st.html(_script(files), unsafe_allow_javascript=True)
    st.html(f"<style>.st-key-{HIDDEN_KEY} {{ display: none !important; }}</style>")
    with st.container(key=HIDDEN_KEY):
        st.image(_PIXEL, width=1)
        st.text_input("warm-up", key="signin.warmup.text", label_visibility="collapsed")
        st.selectbox("warm-up", ["a"], key="signin.warmup.select", label_visibility="collapsed")
        st.checkbox("warm-up", key="signin.warmup.check")
        st.toggle("warm-up", key="signin.warmup.toggle")
        st.segmented_control("warm-up", ["a"], key="signin.warmup.view", label_visibility="collapsed")
        st.button("warm-up", key="signin.warmup.button")
