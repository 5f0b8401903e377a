"""Floor of the Overview: its metrics, the three Altair charts and the three tables, from figures in memory."""

import altair as alt
import pandas as pd
import streamlit as st

from bench.floors import DATA

f = DATA["figures"]
st.title("Overview")
st.caption(DATA["caption"])
row1 = st.columns(4)
row2 = st.columns(4)
for column, (label, value) in zip([*row1, *row2], DATA["metrics"], strict=False):
    column.metric(label, value, border=True, help=label)
months = pd.DataFrame(f.signups_by_month, columns=["month", "users"])
recency = pd.DataFrame(f.last_login, columns=["last login", "users"])
connections = pd.DataFrame(f.connections, columns=["connection", "users"])
left, right = st.columns(2)
with left:
    st.subheader("Sign-ups per month")
    st.altair_chart(
        alt.Chart(months)
        .mark_bar()
        .encode(x=alt.X("month:O", sort=None), y="users:Q", tooltip=["month", "users"]),
        width="stretch",
    )
with right:
    st.subheader("Last login")
    st.altair_chart(
        alt.Chart(recency)
        .mark_bar()
        .encode(x=alt.X("last login:N", sort=None), y="users:Q", tooltip=["last login", "users"]),
        width="stretch",
    )
st.subheader("Users per connection")
st.altair_chart(
    alt.Chart(connections)
    .mark_bar()
    .encode(y=alt.Y("connection:N", sort="-x"), x="users:Q", tooltip=["connection", "users"]),
    width="stretch",
)
with st.expander("The numbers behind the charts"):
    c1, c2, c3 = st.columns(3)
    c1.dataframe(months, hide_index=True, key="overview.months")
    c2.dataframe(recency, hide_index=True, key="overview.recency")
    c3.dataframe(connections, hide_index=True, key="overview.connections")
