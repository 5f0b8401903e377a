"""Floor of the Overview: the same Streamlit calls as app.py and pages/overview.py make on a warm rerun
(menu, header, title row, metrics, the three Altair charts, captions, the three tables), from figures and
strings in memory. No sign-in, data access, caching or formatting. Keep it in step with pages/overview.py
(same calls, same arguments)."""

import altair as alt
import pandas as pd
import streamlit as st

from bench.floors import DATA, in_app_frame, noop


def overview_page() -> None:
    f = DATA["figures"]
    captions = DATA["captions"]
    title, refresh = st.columns([5, 1], vertical_alignment="bottom")
    title.title("Overview")
    refresh.container(horizontal_alignment="right").button(
        "Refresh", key="overview.refresh", icon=":material/refresh:", on_click=noop
    )
    st.caption(captions[0])
    row1 = st.columns(4)
    row2 = st.columns(4)
    for column, (label, value, help_text) in zip([*row1, *row2], DATA["metrics"], strict=False):
        column.metric(label, value, border=True, help=help_text)
    months = pd.DataFrame(f.signups_by_month, columns=["month", "users"])
    recency = pd.DataFrame(f.last_login, columns=["last login", "users"])
    connections = pd.DataFrame(f.connections, columns=["connection", "users"])
    left, right = st.columns(2)
    with left:
        st.header("Sign-ups per month")
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
        st.caption(captions[1])
    with right:
        st.header("Last login")
        st.altair_chart(
            alt.Chart(recency)
            .mark_bar()
            .encode(
                x=alt.X("last login:N", sort=DATA["buckets"], title="Last login (UTC days)"),
                y=alt.Y("users:Q", title="Users"),
                tooltip=["last login", "users"],
            ),
            width="stretch",
        )
        st.caption(captions[2])
    st.header("Users per connection")
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
    for caption in captions[3:]:
        st.caption(caption)
    with st.expander("The numbers behind the charts"):
        c1, c2, c3 = st.columns(3)
        c1.dataframe(months, hide_index=True, key="overview.months")
        c2.dataframe(recency, hide_index=True, key="overview.recency")
        c3.dataframe(connections, hide_index=True, key="overview.connections")


in_app_frame("overview", overview_page)
