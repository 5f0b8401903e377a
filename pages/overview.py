"""Overview: the tenant in figures and charts."""

import streamlit as st

from admin_core.auth import require_access

identity = require_access()

st.title("Overview")
st.info("Tenant figures arrive with the overview work (issue 5).")
