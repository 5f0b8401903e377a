"""Auth0 User Admin: page config, settings, the sign-in gate, and navigation built from the person's role."""

import streamlit as st

from admin_core import runtime
from admin_core.auth import require_access
from admin_core.ui import chrome

st.set_page_config(page_title="Auth0 User Admin", page_icon=":material/group:", layout="wide")

# Nothing below runs, and no Management API call is made, until a verified admin or viewer is signed in.
identity = require_access()
chrome.header(identity, runtime.get_settings())

pages = [
    st.Page("pages/users.py", title="Users", icon=":material/group:", url_path="users", default=True),
    st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview"),
]
if identity.can_change:
    pages.append(st.Page("pages/audit.py", title="Audit log", icon=":material/history:", url_path="audit"))
pages.append(
    st.Page("pages/account.py", title="Account", icon=":material/account_circle:", url_path="account")
)

st.navigation(pages, position="top").run()
