"""Users: search, card grid or table, paging, detail, block/unblock, delete with confirmation."""

import streamlit as st

from admin_core import actions, csvsafe, runtime
from admin_core.auth import require_access, require_change, require_session
from admin_core.domain import PAGE_SIZES, SEARCH_CAP, SORTS, User, search_cap_message
from admin_core.errors import AdminError, NotAllowed, UserGone
from admin_core.ui import listing
from admin_core.ui.cards import TABLE_COLUMNS, render_card, render_detail, users_frame
from admin_core.ui.chrome import md, show_error

identity = require_access()

CONFIRM = "users.confirm_delete"  # list[User] awaiting confirmation
DETAIL = "users.detail"  # user_id shown in the detail dialog
TOAST = "users.toast"
NOTICES = "users.notices"
EXPORT = "users.export_data"  # (q, sort, count, csv) prepared for download
TOGGLE = "users.toggle_block"  # User whose block state the admin asked to flip


# --- callbacks (run before the rerun; they only set flags, the dialogs open from those flags) ----------


def ask_delete(user: User) -> None:
    st.session_state[CONFIRM] = [user]


def show_detail(user: User) -> None:
    st.session_state[DETAIL] = user.user_id


def ask_toggle_block(user: User) -> None:
    # Callbacks run before the page's access check, so they only note the wish; the change happens below.
    st.session_state[TOGGLE] = user


def _announce(report: actions.ActionReport, *, verb: str) -> None:
    """Toast what was done ("Deleted a@b.c", "Deleted 3 users"); list each failure with its reason."""
    if len(report.done) == 1 and not report.failed:
        # The email (or id): short, and what the admin searched for. Plain text here; escaped where shown.
        st.session_state[TOAST] = f"{verb} {report.done[0].email or report.done[0].user_id}"
    elif report.done:
        st.session_state[TOAST] = f"{verb} {len(report.done)} users"
    st.session_state[NOTICES] = [
        f"Not {verb.lower()}: {u.email or u.user_id}. {message}" for u, message in report.failed
    ]


def _refused(exc: NotAllowed) -> None:
    """The whole change was refused (no longer an admin, Auth0 could not confirm the role): say why."""
    st.session_state[NOTICES] = [md(exc.message)]


def close_dialogs() -> None:
    st.session_state.pop(CONFIRM, None)
    st.session_state.pop(DETAIL, None)


# --- dialogs -----------------------------------------------------------------------------------------


@st.dialog("Delete users?", width="medium", on_dismiss=close_dialogs)
def confirm_delete(users: list[User]) -> None:
    if len(users) == 1:
        user = users[0]
        st.markdown(
            f"Delete **{md(user.display_name)}** permanently?\n\n"
            f"- email: {md(user.email or '—')}\n- user_id: {md(user.user_id)}"
        )
    else:
        st.markdown(f"Delete these **{len(users)} users** permanently?")
        st.dataframe(users_frame(users)[["name", "email", "user_id"]], hide_index=True)
    st.warning("Deletion in Auth0 cannot be undone.", icon=":material/warning:")
    left, right = st.columns(2)
    if left.button("Cancel", key="confirm.cancel", width="stretch"):
        close_dialogs()
        st.rerun()
    if right.button("Delete", key="confirm.delete", type="primary", width="stretch"):
        # The identity of this moment, not `identity`: a click in a dialog reruns only the dialog, with the
        # identity captured on the page's last full run (perhaps before a logout or a timeout).
        try:
            report = actions.delete_users(identity=require_change(), users=users)
        except NotAllowed as exc:
            _refused(exc)
        else:
            _announce(report, verb="Deleted")
        close_dialogs()
        st.rerun()


@st.dialog("User details", width="large", on_dismiss=close_dialogs)
def detail(user_id: str) -> None:
    require_session()  # the dialog's own reruns skip the page's gate: a signed-out session sees nothing
    directory = runtime.get_directory()
    try:
        with st.spinner("Asking Auth0…"):
            user = directory.get_user(user_id)
    except UserGone as exc:
        show_error(exc.message, level="warning")
        runtime.clear_listing()
        return
    except AdminError as exc:
        show_error(exc.message)
        return
    roles, roles_error = None, None
    try:
        roles = directory.role_names(user_id)
    except AdminError as exc:
        roles_error = f"Roles could not be read: {exc.message}"
    render_detail(user, roles, roles_error)
    if st.button("Close", key="detail.close"):
        close_dialogs()
        st.rerun()


# --- page --------------------------------------------------------------------------------------------

if (wished := st.session_state.pop(TOGGLE, None)) is not None and identity.can_change:
    verb = "Unblocked" if wished.blocked else "Blocked"
    try:
        report = actions.set_blocked(identity=require_change(), user=wished, blocked=not wished.blocked)
    except NotAllowed as exc:
        _refused(exc)
        st.rerun()  # the role may have changed with the refusal: draw the page for the role Auth0 gives now
    else:
        _announce(report, verb=verb)

# Toasts and errors render Markdown; emails and Auth0's texts come from outside, so both go out as text.
if message := st.session_state.pop(TOAST, None):
    st.toast(md(message), icon=":material/check_circle:")
for notice in st.session_state.pop(NOTICES, []):
    show_error(notice)

# Dialogs before the listing: a confirmed delete runs and reruns before the page renders its cards (it
# used to render the whole grid first, only to throw it away), so the toast comes one page render sooner.
if CONFIRM in st.session_state and identity.can_change:
    confirm_delete(st.session_state[CONFIRM])
elif DETAIL in st.session_state:
    detail(st.session_state[DETAIL])

shown_params = listing.sync_widgets_from_url()

st.title("Users")
# Rows of controls are horizontal containers, not st.columns: one layout block per row instead of one per
# cell, so fewer elements to build and send on every rerun (bench/, issue 9).
with st.container(horizontal=True, vertical_alignment="bottom"):
    text = st.text_input(
        "Search",
        key="users.text",
        placeholder="email, name or nickname (prefix)",
        on_change=listing.reset_page,
        max_chars=500,
    )
    advanced = st.toggle(
        "Advanced (Lucene)",
        key="users.advanced",
        on_change=listing.reset_page,
        help=listing.LUCENE_HELP,
    )
with st.container(horizontal=True, vertical_alignment="bottom"):
    blocked = st.checkbox("Blocked", key="users.blocked", on_change=listing.reset_page)
    never = st.checkbox("Never logged in", key="users.never", on_change=listing.reset_page)
    connection = st.selectbox(
        "Connection",
        options=["", *listing.KNOWN_CONNECTIONS],
        format_func=lambda c: c or "Any connection",
        key="users.connection",
        accept_new_options=True,
        on_change=listing.reset_page,
    )
    sort = st.selectbox(
        "Sort",
        options=list(SORTS),
        format_func=lambda s: SORTS[s][1],
        key="users.sort",
        on_change=listing.reset_page,
    )
    size = st.selectbox(
        "Per page", options=list(PAGE_SIZES), key="users.size", on_change=listing.reset_page, width=110
    )
    # Set before the widget exists: its state is gone after a visit to another page, and assigning it after
    # the widget is created raises. `required` keeps a click on the selected view from deselecting it.
    if st.session_state.get("users.view") not in listing.VIEWS:
        st.session_state["users.view"] = "grid"
    view = st.segmented_control(
        "View", options=list(listing.VIEWS), key="users.view", format_func=str.title, required=True
    )

# The widgets' own return values: reading each back from st.session_state cost a lookup per widget per rerun.
state = listing.ListingState(
    text=text,
    advanced=advanced,
    blocked=blocked,
    never=never,
    connection=connection or "",
    sort=sort,
    view=view,
    page=st.session_state.get("users.page", 0),
    size=size,
)
listing.publish(state, shown_params)

try:
    page = runtime.list_users(state.query)  # "Asking Auth0…" spinner on a cache miss only
except AdminError as exc:
    show_error(exc.message)  # e.g. Auth0's BadQuery text, which echoes the query from a shared link
    page = None
    if state.page > 0:
        st.button("Back to the first page", key="page.first", on_click=listing.go_to, args=(0,))

if page is not None:
    if not page.users and state.page > 0:
        st.info(f"Page {state.page + 1} is past the last page of these results.")
        st.button("Back to the first page", key="page.first", on_click=listing.go_to, args=(0,))
    elif not page.users:
        st.info(
            "No users match. Widen the search: fewer characters, no filters, or switch off Advanced."
            if (state.text or state.blocked or state.never or state.connection)
            else "This tenant has no users yet."
        )
    elif state.view == "table":
        frame = users_frame(page.users)
        selection = st.dataframe(
            frame,
            column_config=TABLE_COLUMNS,
            hide_index=True,
            key="users.table",
            on_select="rerun" if identity.can_change else "ignore",
            selection_mode="multi-row",
            width="stretch",
        )
        if identity.can_change:
            rows = list(selection.selection.rows) if selection else []
            chosen = [page.users[i] for i in rows if i < len(page.users)]
            mine = [u for u in chosen if u.user_id == identity.sub]
            chosen = [u for u in chosen if u.user_id != identity.sub]
            # The bulk bar appears once rows are ticked (with their count on each button); until then a
            # line says how to get it, instead of three disabled "... 0" buttons on every rerun.
            if chosen:
                with st.container(horizontal=True):
                    if st.button(f"Delete {len(chosen)} selected", key="bulk.delete", type="primary"):
                        st.session_state[CONFIRM] = chosen
                        st.rerun()
                    for blocking, label, key, verb in (
                        (True, "Block", "bulk.block", "Blocked"),
                        (False, "Unblock", "bulk.unblock", "Unblocked"),
                    ):
                        if st.button(f"{label} {len(chosen)}", key=key):
                            try:
                                report = actions.block_users(
                                    identity=require_change(), users=chosen, blocked=blocking
                                )
                            except NotAllowed as exc:
                                _refused(exc)
                            else:
                                _announce(report, verb=verb)
                            st.rerun()
            elif not mine:
                st.caption("Tick rows to delete, block or unblock several users at once.")
            if mine:
                st.caption("Your own account is left out of bulk actions.")
    else:
        per_row = 4
        for start in range(0, len(page.users), per_row):
            columns = st.columns(per_row)
            for column, user in zip(columns, page.users[start : start + per_row], strict=False):
                with column:
                    render_card(
                        user,
                        can_change=identity.can_change,
                        is_self=user.user_id == identity.sub,
                        on_detail=show_detail,
                        on_block=ask_toggle_block,
                        on_delete=ask_delete,
                    )

    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Previous",
            key="page.prev",
            disabled=state.page <= 0,
            on_click=listing.go_to,
            args=(state.page - 1,),
        )
        st.markdown(
            f"Page **{state.page + 1}** of **{page.page_count}** · {page.total:,} users",
            text_alignment="center",
            width="stretch",
        )
        st.button(
            "Next",
            key="page.next",
            disabled=state.page + 1 >= page.page_count,
            on_click=listing.go_to,
            args=(state.page + 1,),
        )
    if page.capped:
        st.caption(search_cap_message(page.total))
    reachable = min(page.total, SEARCH_CAP)
    export = st.session_state.get(EXPORT)
    if export and export[0] == state.query.q and export[1] == state.sort:
        st.download_button(
            f"Download {export[2]:,} users as CSV",
            data=export[3],
            file_name="users.csv",
            mime="text/csv",
            key="users.csv",
            icon=":material/download:",
        )
    elif st.button(
        f"Export {'all ' if reachable > len(page.users) else ''}{reachable:,} results as CSV",
        key="users.export",
        disabled=not page.users,
        help="Auth0 serves at most the first 1,000 results of a search.",
    ):
        try:
            with st.spinner("Fetching the results from Auth0…"):
                everyone = runtime.all_results(state.query)
        except AdminError as exc:
            show_error(exc.message)
        else:
            # Names and emails come from outside: a "=HYPERLINK(...)" name must not run in a spreadsheet.
            csv_text = csvsafe.frame_csv(users_frame(everyone).drop(columns=["avatar"]))
            st.session_state[EXPORT] = (state.query.q, state.sort, len(everyone), csv_text)
            st.rerun()
