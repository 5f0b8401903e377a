"""Times in words for people: "3 days ago" with the exact UTC time beside it. Streamlit-free."""

from __future__ import annotations

from datetime import UTC, datetime


def relative_time(when: datetime | None, *, now: datetime | None = None) -> str:
    """'3 days ago', 'just now', 'never'."""
    if when is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (
        ("year", 31_536_000),
        ("month", 2_592_000),
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
    ):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def exact_time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "never"
