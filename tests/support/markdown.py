"""What a person reads in a Markdown element the app filled with escaped text (admin_core.ui.chrome.md).

A model of Streamlit's renderer for escaped text, not the app's code: a backslash shows the character after
it, and the word joiner (U+2060) that breaks autolinks is invisible. Tests compare this with literal text.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"


def visible(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown.replace(WORD_JOINER, ""))
