"""Overview: the tenant in figures and charts (gathered by admin_core.overview, cached for a few minutes)."""

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from admin_core import runtime
from admin_core.errors import AdminError
from admin_core.overview import BUCKETS, OTHER, TTL_SECONDS, Figures, FiguresStore, accuracy, gather
from admin_core.ui.chrome import show_error
from admin_core.ui.gate import require_access

identity = require_access()


def title_row(store: FiguresStore) -> None:
    """The title, and Refresh (forget the figures, so this run gathers them again)."""
    title, refresh = st.columns([5, 1], vertical_alignment="bottom")
    title.title("Overview")
    if refresh.container(horizontal_alignment="right").button(
        "Refresh", key="overview.refresh", icon=":material/refresh:"
    ):
        store.clear()


def load(store: FiguresStore) -> Figures:
    """The figures kept for every session, else gathered now under a progress bar; on an error, a line
    saying so and a stop."""
    if (figures := store.fresh()) is not None:
        return figures
    bar = st.progress(0.0, text="Asking Auth0 for the tenant's figures…")

    def report(done: int, planned: int | None, what: str) -> None:
        if planned:
            bar.progress(min(1.0, done / planned), text=f"{what}: {done} of {planned} Auth0 requests")
        else:
            bar.progress(0.0, text=f"{what}…")

    try:
        figures = store.get_or_gather(
            lambda: gather(runtime.get_directory(), datetime.now(UTC), progress=report)
        )
    except AdminError as exc:
        bar.empty()
        show_error(exc.message)
        st.caption("No figures are shown: some of them could not be read. Try **Refresh** in a moment.")
        st.stop()
    bar.empty()
    return figures


def fmt(n: int) -> str:
    return f"{n:,}"


def share(n: int, of: int) -> str:
    return f"{n / of:.0%} of all users" if of else ""


def metrics(figures: Figures) -> list[tuple[str, str, str | None]]:
    """(label, value, help) of the seven figures, in reading order: four on the first row, three below."""
    b, total = figures.boundaries, figures.total
    return [
        ("Total users", fmt(total), None),
        ("New in the last 7 days", fmt(figures.new_7d), f"Created since {b.since(7)} (UTC)."),
        ("New in the last 30 days", fmt(figures.new_30d), f"Created since {b.since(30)} (UTC)."),
        (
            "Active in the last 30 days",
            fmt(figures.active_30d),
            f"Last login since {b.since(30)} (UTC). {share(figures.active_30d, total)}",
        ),
        ("Never logged in", fmt(figures.never_logged_in), share(figures.never_logged_in, total) or None),
        ("Blocked", fmt(figures.blocked), share(figures.blocked, total) or None),
        ("Email not verified", fmt(figures.email_unverified), share(figures.email_unverified, total) or None),
    ]


def bar_chart(data: pd.DataFrame, **encoding: alt.X | alt.Y) -> None:
    """A bar chart of `data` with `encoding` (x and y, in the order given), every column in the tooltip."""
    chart = alt.Chart(data).mark_bar().encode(**encoding, tooltip=list(data.columns))
    st.altair_chart(chart, width="stretch")


def show(figures: Figures) -> None:
    b = figures.boundaries
    taken = figures.taken_at.astimezone(UTC)
    how = (
        f"listed all {figures.total:,} users"
        if figures.method == "listed"
        else "counted with Auth0 user searches"
    )
    st.caption(
        f"Figures taken at {taken:%H:%M:%S} UTC on {taken:%Y-%m-%d} ({how}, {figures.requests} Management API "
        f"requests; kept for {TTL_SECONDS // 60} minutes). Days are UTC days: today is {b.today}; "
        f"'last 7 days' means since {b.since(7)} 00:00 UTC, 'last 30 days' since {b.since(30)} 00:00 UTC."
    )

    with st.expander("How exact are these figures?", expanded=figures.method != "listed"):
        for note in accuracy(figures):
            st.caption(note)

    cells = [*st.columns(4), *st.columns(4)]
    for cell, (label, value, help_text) in zip(cells, metrics(figures), strict=False):
        cell.metric(label, value, border=True, help=help_text)

    months = pd.DataFrame(figures.signups_by_month, columns=["month", "users"])
    recency = pd.DataFrame(figures.last_login, columns=["last login", "users"])
    connections = pd.DataFrame(figures.connections, columns=["connection", "users"])

    left, right = st.columns(2)
    with left:
        st.header("Sign-ups per month")
        bar_chart(
            months,
            x=alt.X("month:O", title="Month (UTC)", sort=None),
            y=alt.Y("users:Q", title="New users"),
        )
        st.caption("The last 12 months, the current one so far.")
    with right:
        st.header("Last login")
        bar_chart(
            recency,
            x=alt.X("last login:N", sort=list(BUCKETS), title="Last login (UTC days)"),
            y=alt.Y("users:Q", title="Users"),
        )
        st.caption(
            "today: since 00:00 UTC · 7 d: the 7 days before · 30 d / 90 d: up to 30 / 90 days back · "
            "older: before that · never: no login yet."
        )

    st.header("Users per connection")
    bar_chart(
        connections,
        y=alt.Y("connection:N", sort="-x", title=None),
        x=alt.X("users:Q", title="Users"),
    )
    if OTHER in set(connections["connection"]):
        st.caption(
            f"'{OTHER}': users in none of the connections counted separately (too many connections to count "
            "each within the request budget)."
        )
    st.caption("A user with linked accounts counts once under each of their connections.")

    with st.expander("The numbers behind the charts"):
        for cell, (name, data) in zip(
            st.columns(3),
            (("months", months), ("recency", recency), ("connections", connections)),
            strict=True,
        ):
            cell.dataframe(data, hide_index=True, key=f"overview.{name}")


# --- layout ------------------------------------------------------------------------------------------

store = runtime.get_overview_store()
title_row(store)
show(load(store))
