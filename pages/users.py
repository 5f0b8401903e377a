"""Users: search, card grid or table, paging, detail, block/unblock, delete with confirmation.

Everything below the search row is one `st.fragment` (the listing): paging, sort, per page, the view
switch, a card's buttons and opening a dialog rerun only it, not app.py, the header or the search row. The
table with its bulk bar is a fragment inside it: ticking rows reruns only that. A change of the search or a filter, a confirmed delete and a dialog's Cancel rerun the page."""

import streamlit as st

from admin_core import actions, csvsafe, runtime
from admin_core.auth import Identity, require_change, require_session
from admin_core.domain import SEARCH_CAP, User, UserPage, search_cap_message
from admin_core.errors import AdminError, NotAllowed
from admin_core.ui import export_all, jobs, listing, roles
from admin_core.ui.cards import clip, render_grid, render_table, users_frame
from admin_core.ui.chrome import md, show_error
from admin_core.ui.gate import require_access
from admin_core.ui.pager import render_pager

identity = require_access()

CONFIRM = "users.confirm_delete"  # list[User] awaiting confirmation
TOAST = "users.toast"
NOTICES = "users.notices"
EXPORT = "users.export_data"  # (q, sort, count, csv) prepared for download
TOGGLE = "users.toggle_block"  # User whose block state the admin asked to flip


# --- callbacks (run before the rerun; they only set flags, the dialogs open from those flags) ----------


def ask_delete(user: User) -> None:
    st.session_state[CONFIRM] = [user]


def show_detail(user: User) -> None:
    listing.ask_open_person(user.user_id)  # Details opens the person's page (/user?id=...)


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
    st.session_state[NOTICES] = [exc.message]  # plain text; escaped where shown


def close_dialogs() -> None:
    st.session_state.pop(CONFIRM, None)


def dismissed() -> None:
    """The dialog's X, Escape or a click beside it: the browser closed it; only the listing reruns."""
    close_dialogs()
    listing.rerun_only_listing()


# --- dialogs -----------------------------------------------------------------------------------------


@st.dialog("Delete users?", width="medium", on_dismiss=dismissed)
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
        st.rerun()  # the whole page: a rerun of the listing alone would leave the dialog open
    if right.button("Delete", key="confirm.delete", type="primary", width="stretch"):
        # The identity of this moment, not `identity`: a click in a dialog reruns only the dialog, with the
        # identity captured on the page's last full run (perhaps before a logout or a timeout).
        if len(users) > 1:  # a bulk delete runs as a job on the server, with a progress panel
            jobs.start(
                panel="users",
                action="delete",
                users=users,
                announce=lambda report: _announce(report, verb="Deleted"),
                refused=_refused,
            )
            close_dialogs()
            st.rerun()
        try:
            report = actions.delete_users(identity=require_change(), users=users)
        except NotAllowed as exc:
            _refused(exc)
        else:
            _announce(report, verb="Deleted")
        close_dialogs()
        st.rerun()


# --- the page's parts, in the order they are drawn ----------------------------------------------------


def apply_block_wish(identity: Identity) -> None:
    """Flip the block state a card's button asked for (its callback only noted the wish); the listing drawn
    after it shows the change, so no rerun."""
    wished = st.session_state.pop(TOGGLE, None)
    if wished is None or not identity.can_change:
        return
    verb = "Unblocked" if wished.blocked else "Blocked"
    try:
        report = actions.set_blocked(identity=require_change(), user=wished, blocked=not wished.blocked)
    except NotAllowed as exc:
        _refused(exc)
        st.rerun()  # the role may have changed with the refusal: draw the page for the role Auth0 gives now
    else:
        _announce(report, verb=verb)


def show_messages() -> None:
    """The toast and the notices the last change left."""
    # Toasts and errors render Markdown; emails and Auth0's texts come from outside, so both go out as text.
    if message := st.session_state.pop(TOAST, None):
        st.toast(md(message), icon=":material/check_circle:")
    for notice in st.session_state.pop(NOTICES, []):
        show_error(notice)


def open_dialog(identity: Identity) -> None:
    # Dialogs before the listing: a confirmed delete runs and reruns before the page renders its cards (it
    # used to render the whole grid first, only to throw it away), so the toast comes one page render sooner.
    if CONFIRM in st.session_state and identity.can_change:
        confirm_delete(st.session_state[CONFIRM])


def first_page_button() -> None:
    st.button("Back to the first page", key="page.first", on_click=listing.go_to, args=(0,))


def load(state: listing.ListingState) -> UserPage | None:
    """This view's page of users, or None (the error shown) when Auth0 refuses the search."""
    try:
        return runtime.list_users(state.query)  # "Asking Auth0…" spinner on a cache miss only
    except AdminError as exc:
        show_error(exc.message)  # e.g. Auth0's BadQuery text, which echoes the query from a shared link
        if state.page > 0:
            first_page_button()
        return None


def results(state: listing.ListingState, page: UserPage, identity: Identity) -> None:
    """The users of this page as a table or a grid, or a line saying why there are none."""
    if not page.users and state.page > 0:
        st.info(f"Page {state.page + 1} is past the last page of these results.")
        first_page_button()
    elif not page.users:
        st.info(
            "No users match. Widen the search: fewer characters, no filters, or switch off Advanced."
            if (state.text or state.blocked or state.never or state.connection)
            else "This tenant has no users yet."
        )
    elif state.view == "table":
        table_rows(page.users)
    else:
        render_grid(
            page.users,
            can_change=identity.can_change,
            self_id=identity.sub,
            on_detail=show_detail,
            on_block=ask_toggle_block,
            on_delete=ask_delete,
        )


@st.fragment(key=listing.ROWS_FRAGMENT)
def table_rows(users: tuple[User, ...]) -> None:
    """The table and what ticking its rows changes (their Details buttons, the bulk bars): a fragment inside
    the listing, so ticking or unticking rows reruns only this, not the listing's row of controls, the
    pager or the export. `users` is the page the listing drew (the same rows the browser shows)."""
    listing.count_run("rows")
    # This fragment's own reruns skip the listing too: the session is checked here as well, and what the
    # listing's run would do for a click made here (Details, Delete n selected) is done here.
    live = require_session()
    if listing.rows_rerun_alone():
        listing.open_person_if_asked()
        open_dialog(live)
    # Rows tick for everyone: a ticked row offers its Details; admins also get the bulk bar.
    chosen = render_table(users, selectable=True)
    row_details(chosen)
    if live.can_change:
        bulk_bar(chosen, live)
        roles.bulk_bar(chosen)


ROW_DETAILS_SHOWN = 5  # Details buttons for the first ticked rows; more would crowd the bulk bar


def row_details(chosen: list[User]) -> None:
    """A Details button for each ticked row (the first few): it opens that person's page."""
    if not chosen:
        return
    with st.container(horizontal=True):
        for user in chosen[:ROW_DETAILS_SHOWN]:
            st.button(
                f"Details: {md(clip(user.display_name, 30))}",  # names are data, labels Markdown
                key=f"row-detail:{user.user_id}",
                on_click=show_detail,
                args=(user,),
                icon=":material/person:",
            )


def ask_delete_rows(users: list[User]) -> None:
    st.session_state[CONFIRM] = users  # the listing's rerun opens the dialog (open_dialog)


def bulk_bar(chosen: list[User], identity: Identity) -> None:
    """Delete / Block / Unblock for the ticked rows, the admin's own row left out."""
    jobs.progress("users")  # the bulk job started here or in the delete dialog, while it runs
    jobs.show_notices()
    mine = [u for u in chosen if u.user_id == identity.sub]
    chosen = [u for u in chosen if u.user_id != identity.sub]
    # The bulk bar appears once rows are ticked (with their count on each button); until then a line says
    # how to get it, instead of three disabled "... 0" buttons on every rerun.
    if chosen:
        with st.container(horizontal=True):
            st.button(
                f"Delete {len(chosen)} selected",
                key="bulk.delete",
                type="primary",
                on_click=ask_delete_rows,
                args=(chosen,),
            )
            for blocking, label, key, verb in (
                (True, "Block", "bulk.block", "Blocked"),
                (False, "Unblock", "bulk.unblock", "Unblocked"),
            ):
                if st.button(f"{label} {len(chosen)}", key=key):
                    jobs.start(
                        panel="users",
                        action="block" if blocking else "unblock",
                        users=chosen,
                        announce=lambda report, verb=verb: _announce(report, verb=verb),
                        refused=_refused,
                    )
                    listing.rerun_listing()
    elif not mine:
        st.caption("Tick rows to delete, block or unblock several users at once.")
    if mine:
        st.caption("Your own account is left out of bulk actions.")


def pager(state: listing.ListingState, page: UserPage) -> None:
    render_pager(
        page=state.page,
        pages=page.page_count,
        counted=f"{page.total:,} users",
        go_to=listing.go_to,
        prev_key="page.prev",
        next_key="page.next",
    )
    if page.capped:
        st.caption(search_cap_message(page.total))


def export(state: listing.ListingState, page: UserPage) -> None:
    """Export (fetch every reachable result), then Download: two steps, so a page view costs no fetch."""
    reachable = min(page.total, SEARCH_CAP)
    prepared = st.session_state.get(EXPORT)
    if prepared and prepared[0] == state.query.q and prepared[1] == state.sort:
        st.download_button(
            f"Download {prepared[2]:,} users as CSV",
            data=prepared[3],
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
            listing.rerun_listing()


@st.fragment(key=listing.FRAGMENT)
def users_listing() -> None:
    """The listing: its own row of controls, the users, the pager and the export; the dialogs open here."""
    listing.count_run("listing")
    with listing.listing_body():
        # The listing's own reruns skip app.py and its gate: the session is checked here, and the role
        # Auth0 gives now decides what is offered (`identity` is from the page's last full run).
        live = require_session()
        listing.open_person_if_asked()
        apply_block_wish(live)
        show_messages()
        open_dialog(live)
        shown_params = st.query_params.to_dict()  # the URL as the browser sent it with this rerun
        state = listing.render_view_controls()
        listing.publish(state, shown_params)
        if (page := load(state)) is not None:
            results(state, page, live)
            pager(state, page)
            export(state, page)
        export_all.render(identity=live, connection=state.connection)  # the whole tenant, Auth0's job


# --- layout ------------------------------------------------------------------------------------------

listing.count_run("page")
listing.open_person_if_asked()
listing.sync_widgets_from_url()
st.title("Users")
listing.render_search()
users_listing()
