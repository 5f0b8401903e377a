"""Account: who is signed in, with which role, and logout."""

import streamlit as st

from admin_core.auth import require_access, sign_out
from admin_core.ui.chrome import md

identity = require_access()

st.title("Account")
st.markdown(f"**{md(identity.label)}**")
st.markdown(
    f"- email: {md(identity.email or '—')}\n- user id: {md(identity.sub)}\n"
    f"- role: **{'Admin' if identity.can_change else 'Viewer'}** "
    f"({'may block and delete users' if identity.can_change else 'may look, not change'})"
)
st.caption("Your session ends when your Auth0 sign-in expires, or when you reload the page.")
st.button("Log out", key="account.logout", on_click=sign_out, type="primary", icon=":material/logout:")
