"""Auth0 User Admin: page config, settings, the sign-in gate, and navigation built from the person's role."""

import streamlit as st

from admin_core import runtime
from admin_core.auth import current_identity, gate, pages_run_by_app
from admin_core.ui import chrome

# The icon ships with the app (a data: URL in the page): a `:material/...:` page icon made every browser
# fetch an SVG from Google's font CDN, telling a third party who opens the tool (offline: a failed fetch).
st.set_page_config(page_title="Auth0 User Admin", page_icon=chrome.PAGE_ICON, layout="wide")

USERS = st.Page("pages/users.py", title="Users", icon=":material/group:", url_path="users", default=True)
OVERVIEW = st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview")
AUDIT = st.Page("pages/audit.py", title="Audit log", icon=":material/history:", url_path="audit")
ACCOUNT = st.Page("pages/account.py", title="Account", icon=":material/account_circle:", url_path="account")

signed_in = current_identity()
if signed_in is None or not signed_in.can_view:
    # Keep every address valid (so /users still lands here after sign-in) but show no menu to anyone
    # without access; none of these pages runs.
    st.navigation([USERS, OVERVIEW, AUDIT, ACCOUNT], position="hidden")

# Nothing below runs, and no Management API call is made, until a verified admin or viewer is signed in.
identity = gate()
chrome.header(identity, runtime.settings_or_explain())

pages = [USERS, OVERVIEW, AUDIT, ACCOUNT] if identity.can_change else [USERS, OVERVIEW, ACCOUNT]
with pages_run_by_app():
    st.navigation(pages, position="top").run()
