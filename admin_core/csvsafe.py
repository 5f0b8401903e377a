"""One guard against spreadsheet formulas for every CSV the app hands out (audit log, Users export).

Spreadsheets run a cell that starts with ``= + - @`` (or a tab or carriage return before one) as a
formula, so a name such as ``=HYPERLINK("https://evil.example","click")`` in an export would become a live
link or worse on the admin's machine. Guarded cells get a leading apostrophe: the spreadsheet shows the text
as typed. Streamlit-free, so the audit store and the pages share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas only for the frame helpers' types; the audit store never needs it
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def guard(text: str) -> str:
    """`text`, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def guard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are guarded (numbers, dates and booleans stay as they are)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "O" or str(out[column].dtype).startswith("string"):
            out[column] = out[column].map(_guard_cell)
    return out


def _guard_cell(value: Any) -> Any:
    return guard(value) if isinstance(value, str) else value


def frame_csv(frame: pd.DataFrame) -> str:
    """`frame` as CSV text with every text cell guarded."""
    return guard_frame(frame).to_csv(index=False)
