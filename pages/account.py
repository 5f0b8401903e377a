"""Account: who is signed in, with which role, and logout."""

import streamlit as st

from admin_core import runtime
from admin_core.auth import sign_out
from admin_core.ui.chrome import md
from admin_core.ui.gate import require_access

identity = require_access()

st.title("Account")
st.markdown(f"**{md(identity.label)}**")
st.markdown(
    f"- email: {md(identity.email or '—')}\n- user id: {md(identity.sub)}\n"
    f"- role: **{'Admin' if identity.can_change else 'Viewer'}** "
    f"({'may block and delete users' if identity.can_change else 'may look, not change'})"
)
limits = runtime.get_settings()
st.caption(
    f"Your session ends {limits.session_max_hours:g} h after you signed in, after "
    f"{limits.session_idle_minutes:g} minutes without activity, when your Auth0 sign-in expires, or when "
    "you reload the page."
)
st.button("Log out", key="account.logout", on_click=sign_out, type="primary", icon=":material/logout:")
