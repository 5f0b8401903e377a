"""Audit log: who did what to which account (admins only)."""

import streamlit as st

from admin_core.auth import require_access

identity = require_access(admin=True)

st.title("Audit log")
