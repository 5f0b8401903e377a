"""Overview: the tenant in figures and charts (gathered by admin_core.overview, cached for a few minutes)."""

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from admin_core import runtime
from admin_core.errors import AdminError
from admin_core.overview import BUCKETS, OTHER, TTL_SECONDS, Figures, gather
from admin_core.ui.chrome import show_error
from admin_core.ui.gate import require_access

identity = require_access()

store = runtime.get_overview_store()

title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title("Overview")
if refresh.container(horizontal_alignment="right").button(
    "Refresh", key="overview.refresh", icon=":material/refresh:"
):
    store.clear()

figures = store.fresh()
if figures is None:
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


def fmt(n: int) -> str:
    return f"{n:,}"


def share(n: int, of: int) -> str:
    return f"{n / of:.0%} of all users" if of else ""


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

    row1 = st.columns(4)
    row1[0].metric("Total users", fmt(figures.total), border=True)
    row1[1].metric(
        "New in the last 7 days", fmt(figures.new_7d), border=True, help=f"Created since {b.since(7)} (UTC)."
    )
    row1[2].metric(
        "New in the last 30 days",
        fmt(figures.new_30d),
        border=True,
        help=f"Created since {b.since(30)} (UTC).",
    )
    row1[3].metric(
        "Active in the last 30 days",
        fmt(figures.active_30d),
        border=True,
        help=f"Last login since {b.since(30)} (UTC). {share(figures.active_30d, figures.total)}",
    )
    row2 = st.columns(4)
    row2[0].metric(
        "Never logged in",
        fmt(figures.never_logged_in),
        border=True,
        help=share(figures.never_logged_in, figures.total) or None,
    )
    row2[1].metric(
        "Blocked", fmt(figures.blocked), border=True, help=share(figures.blocked, figures.total) or None
    )
    row2[2].metric(
        "Email not verified",
        fmt(figures.email_unverified),
        border=True,
        help=share(figures.email_unverified, figures.total) or None,
    )

    months = pd.DataFrame(figures.signups_by_month, columns=["month", "users"])
    recency = pd.DataFrame(figures.last_login, columns=["last login", "users"])
    connections = pd.DataFrame(figures.connections, columns=["connection", "users"])

    left, right = st.columns(2)
    with left:
        st.subheader("Sign-ups per month")
        st.altair_chart(
            alt.Chart(months)
            .mark_bar()
            .encode(
                x=alt.X("month:O", title="Month (UTC)", sort=None),
                y=alt.Y("users:Q", title="New users"),
                tooltip=["month", "users"],
            ),
            width="stretch",
        )
        st.caption("The last 12 months, the current one so far.")
    with right:
        st.subheader("Last login")
        st.altair_chart(
            alt.Chart(recency)
            .mark_bar()
            .encode(
                x=alt.X("last login:N", sort=list(BUCKETS), title="Last login (UTC days)"),
                y=alt.Y("users:Q", title="Users"),
                tooltip=["last login", "users"],
            ),
            width="stretch",
        )
        st.caption(
            "today: since 00:00 UTC · 7 d: the 7 days before · 30 d / 90 d: up to 30 / 90 days back · "
            "older: before that · never: no login yet."
        )

    st.subheader("Users per connection")
    st.altair_chart(
        alt.Chart(connections)
        .mark_bar()
        .encode(
            y=alt.Y("connection:N", sort="-x", title=None),
            x=alt.X("users:Q", title="Users"),
            tooltip=["connection", "users"],
        ),
        width="stretch",
    )
    if OTHER in set(connections["connection"]):
        st.caption(
            f"'{OTHER}': users in none of the connections counted separately (too many connections to count "
            "each within the request budget)."
        )
    st.caption("A user with linked accounts counts once under each of their connections.")

    with st.expander("The numbers behind the charts"):
        c1, c2, c3 = st.columns(3)
        c1.dataframe(months, hide_index=True, key="overview.months")
        c2.dataframe(recency, hide_index=True, key="overview.recency")
        c3.dataframe(connections, hide_index=True, key="overview.connections")


show(figures)
