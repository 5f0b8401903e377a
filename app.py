"""Auth0 User Admin: page config, settings, the sign-in gate, and navigation built from the person's role."""

import time

import streamlit as st

from admin_core import jobrunner, runtime, timing
from admin_core.auth import current_identity, pages_run_by_app
from admin_core.ui import chrome, handover
from admin_core.ui.gate import admins_only, gate, settings_or_explain

# The icon ships with the app (a data: URL in the page): a `:material/...:` page icon made every browser
# fetch an SVG from Google's font CDN, telling a third party who opens the tool (offline: a failed fetch).
st.set_page_config(page_title="Auth0 User Admin", page_icon=chrome.PAGE_ICON, layout="wide")

USERS = st.Page("pages/users.py", title="Users", icon=":material/group:", url_path="users", default=True)
OVERVIEW = st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview")
AUDIT = st.Page("pages/audit.py", title="Audit log", icon=":material/history:", url_path="audit")
ACCOUNT = st.Page("pages/account.py", title="Account", icon=":material/account_circle:", url_path="account")
NEW_USER = st.Page("pages/new_user.py", title="New user", icon=":material/person_add:", url_path="new-user")
# One person's page needs an id (/user?id=auth0%7C123): reachable by link and from Details, not a menu entry.
PERSON = st.Page(
    "pages/user.py", title="Person", icon=":material/person:", url_path="user", visibility="hidden"
)


def _sign_in_first() -> None:
    """The signed-out navigation's default page (at `/`); it never runs: the gate below stops first."""


# Once per server process: SIGTERM drains this instance (admin_core.shutdown); each session is noted so the
# drain can tell it.
runtime.install_shutdown()
jobrunner.watch()  # bulk jobs hand over on SIGTERM; with PostgreSQL, take over those others hand over
runtime.note_session()
run_started = time.perf_counter()
signed_in = current_identity()
if signed_in is None or not signed_in.can_view:
    # Register every address before the gate, so a shared link (/users?text=ada, /audit) is remembered
    # through the sign-in instead of ending in Streamlit's "Page not found" dialog. A default page has the
    # URL path "" (Streamlit matches a requested page by URL path), so the default here is a page of its
    # own and each real page keeps its name; after sign-in the requested page is found by its hash. No
    # menu is shown and none of these pages runs.
    sign_in_first = st.Page(_sign_in_first, title="Sign in", url_path="sign-in", default=True)
    users_by_name = st.Page("pages/users.py", title="Users", url_path="users")
    st.navigation(
        [sign_in_first, users_by_name, OVERVIEW, AUDIT, ACCOUNT, PERSON, NEW_USER], position="hidden"
    )

# Nothing below runs, and no Management API call is made, until a verified admin or viewer is signed in.
identity = gate()
chrome.header(identity, settings_or_explain())
handover.reconnect_watch()  # a reconnect after this instance died reruns at once: the person is told

if identity.can_change:
    audit, new_user = AUDIT, NEW_USER
    pages = [USERS, OVERVIEW, AUDIT, ACCOUNT, PERSON, NEW_USER]
else:
    # A viewer who opens /audit (a shared link) is told why in words, with links to the pages they may see,
    # instead of landing somewhere else without a word.
    allowed = [USERS, OVERVIEW, ACCOUNT]
    audit = st.Page(lambda: admins_only(allowed), title="Audit log", url_path="audit", visibility="hidden")
    new_user = st.Page(
        lambda: admins_only(allowed), title="New user", url_path="new-user", visibility="hidden"
    )
    pages = [*allowed, audit, PERSON, new_user]
with pages_run_by_app() as wanted:
    chosen = st.navigation(pages, position="top")
    # A fresh server process ran a pages/ file directly and sent this session here (see require_access).
    target = {"users": USERS, "overview": OVERVIEW, "audit": audit, "account": ACCOUNT, "user": PERSON}.get(
        wanted or ""
    )
    if wanted == "new_user":
        target = new_user
    if target is not None and target is not chosen:
        st.switch_page(target, query_params=st.query_params.to_dict())
    with timing.phase("run.page"):
        chosen.run()
timing.note("run.app", time.perf_counter() - run_started)
