"""The Users page's view state, kept in `st.query_params` so a filtered view is a shareable link."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from admin_core.domain import PAGE_SIZES, SEARCH_CAP, SORTS, UserQuery
from admin_core.query import build_query

VIEWS = ("grid", "table")
KNOWN_CONNECTIONS = ("Username-Password-Authentication", "google-oauth2", "github")
LUCENE_HELP = "Raw Auth0 v3 query syntax, e.g. `email:*@example.com AND logins_count:[10 TO *]`."


@dataclass(frozen=True)
class ListingState:
    text: str = ""
    advanced: bool = False
    blocked: bool = False
    never: bool = False
    connection: str = ""
    sort: str = "last_login"
    view: str = "grid"
    page: int = 0
    size: int = 24

    @property
    def query(self) -> UserQuery:
        q = build_query(
            self.text,
            advanced=self.advanced,
            blocked=self.blocked,
            never_logged_in=self.never,
            connection=self.connection or None,
        )
        return UserQuery(q=q, sort=self.sort, page=self.page, per_page=self.size)

    def to_params(self) -> dict[str, str]:
        out = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if value != getattr(_DEFAULT, name):
                out[name] = "1" if value is True else str(value)
        return out


_DEFAULT = ListingState()
_FIELDS = tuple(f.name for f in fields(ListingState))
LOADED_KEY = "users.loaded_params"  # the URL parameters this session last read or wrote


def _int(raw: str | None, default: int, allowed=None, low: int = 0, high: int = 10_000) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    if allowed is not None and value not in allowed:
        return default
    return min(max(value, low), high)


def _one_of(raw: str | None, allowed, default: str) -> str:
    return raw if raw is not None and raw in allowed else default


def from_params(params: dict[str, str]) -> ListingState:
    """Read the state from the URL, ignoring anything malformed (links get edited by hand). `q` is taken
    for the search text too (people type `/users?q=ada`); the URL then shows it as `text`."""
    size = _int(params.get("size"), 24, allowed=PAGE_SIZES)
    return ListingState(
        text=(params.get("text") or params.get("q") or "")[:500],
        advanced=params.get("advanced") == "1",
        blocked=params.get("blocked") == "1",
        never=params.get("never") == "1",
        connection=(params.get("connection") or "")[:200],
        sort=_one_of(params.get("sort"), SORTS, "last_login"),
        view=_one_of(params.get("view"), VIEWS, "grid"),
        page=_int(params.get("page"), 0, high=(SEARCH_CAP - 1) // size),
        size=size,
    )


WIDGET_KEYS = {
    "text": "users.text",
    "advanced": "users.advanced",
    "blocked": "users.blocked",
    "never": "users.never",
    "connection": "users.connection",
    "sort": "users.sort",
    "view": "users.view",
    "size": "users.size",
}


def sync_widgets_from_url() -> dict[str, str]:
    """On a session's first run (or a pasted link) the URL decides; afterwards the widgets do.

    Returns the URL's parameters as read, for `publish` (nothing changes them in between)."""
    params = st.query_params.to_dict()
    if st.session_state.get(LOADED_KEY) != params:
        state = from_params(params)
        for field, key in WIDGET_KEYS.items():
            st.session_state[key] = getattr(state, field)
        st.session_state["users.page"] = state.page
    return params


def publish(state: ListingState, shown: dict[str, str]) -> None:
    """Write the state to the URL, only when it differs from what the URL shows (`shown`), so unchanged
    reruns add no browser history entry."""
    params = state.to_params()
    if shown != params:
        st.query_params.from_dict(params)
    st.session_state[LOADED_KEY] = params


def reset_page() -> None:
    """Any change of search, filter, sort or size starts again at the first page."""
    st.session_state["users.page"] = 0


def go_to(page: int) -> None:
    st.session_state["users.page"] = page


def render_search() -> None:
    """The search row: text, Advanced and the filters. They change which users match, so a change reruns
    the whole page (the listing's own controls are in `render_view_controls`, inside the listing).

    One horizontal container, not st.columns: one layout block instead of one per cell, so fewer elements
    to build and send on every rerun (bench/, issue 9)."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(
            "Search",
            key="users.text",
            placeholder="email, name or nickname (prefix)",
            on_change=reset_page,
            max_chars=500,
        )
        st.toggle("Advanced (Lucene)", key="users.advanced", on_change=reset_page, help=LUCENE_HELP)
        st.checkbox("Blocked", key="users.blocked", on_change=reset_page)
        st.checkbox("Never logged in", key="users.never", on_change=reset_page)
        st.selectbox(
            "Connection",
            options=["", *KNOWN_CONNECTIONS],
            format_func=lambda c: c or "Any connection",
            key="users.connection",
            accept_new_options=True,
            on_change=reset_page,
            width=240,
        )


def render_view_controls() -> ListingState:
    """The listing's own row (sort, per page, view), then the whole view: the search row's values come from
    session state, where Streamlit keeps them between the listing's own reruns (the row is not redrawn)."""
    with st.container(horizontal=True, vertical_alignment="bottom"):
        sort = st.selectbox(
            "Sort",
            options=list(SORTS),
            format_func=lambda s: SORTS[s][1],
            key="users.sort",
            on_change=reset_page,
            width=220,
        )
        size = st.selectbox(
            "Per page", options=list(PAGE_SIZES), key="users.size", on_change=reset_page, width=110
        )
        # Set before the widget exists: its state is gone after a visit to another page, and assigning it
        # after the widget is created raises. `required` keeps a click on the selected view from deselecting it.
        if st.session_state.get("users.view") not in VIEWS:
            st.session_state["users.view"] = "grid"
        view = st.segmented_control(
            "View", options=list(VIEWS), key="users.view", format_func=str.title, required=True
        )
    state = st.session_state
    return ListingState(
        text=state.get("users.text") or "",
        advanced=bool(state.get("users.advanced")),
        blocked=bool(state.get("users.blocked")),
        never=bool(state.get("users.never")),
        connection=state.get("users.connection") or "",
        sort=sort,
        view=view or "grid",  # `required=True`: never None, but typed so
        page=state.get("users.page", 0),
        size=size,
    )


# --- the listing as a fragment: its own interactions rerun only it ---------------------------------------

FRAGMENT = "users.listing"  # the st.fragment key of the Users page's listing
ROWS_FRAGMENT = "users.rows"  # the table and its bulk bar, a fragment inside the listing
# {"page": full runs of the Users page, "listing": runs of its listing, "rows": runs of the table's rows
# fragment (only once the table has been shown)}
RUNS_KEY = "users.runs"


def count_run(part: str) -> None:
    """Count a run of the page, of its listing or of the table's rows (tests and the bench check that an
    interaction reran only its own fragment)."""
    runs = st.session_state.setdefault(RUNS_KEY, {"page": 0, "listing": 0})
    runs[part] = runs.get(part, 0) + 1


def in_listing_rerun() -> bool:
    """Whether this run is a fragment's own rerun (a click in the listing), not a run of the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


# True while the listing's body runs (in this script thread): a fragment inside it can tell a rerun of its
# own (a tick) from being drawn by the listing's run or the page's.
_LISTING_RUNNING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "users_listing_running", default=False
)


@contextmanager
def listing_body() -> Iterator[None]:
    """Around the listing's body (pages/users.py)."""
    token = _LISTING_RUNNING.set(True)
    try:
        yield
    finally:
        _LISTING_RUNNING.reset(token)


def rows_rerun_alone() -> bool:
    """Inside the table's rows fragment: whether this run is its own rerun (a tick, a click in it), with no
    run of the listing around it (then it does what the listing's run would do for its clicks)."""
    return in_listing_rerun() and not _LISTING_RUNNING.get()


def rerun_listing() -> None:
    """Draw the listing again after a change made from it: only the listing when this run is the listing's
    own rerun, the whole page otherwise (`scope="fragment"` is refused in a full run, e.g. under AppTest)."""
    st.rerun(scope="fragment" if in_listing_rerun() else "app")


def rerun_only_listing() -> None:
    """From a widget callback: rerun only the listing, whichever part of the page the widget is in (e.g. a
    dialog's dismissal: the browser has closed it already). Not for a dialog's own Cancel: a listing rerun
    leaves an open dialog open (Streamlit keeps it mounted until the whole page reruns)."""
    st.rerun(FRAGMENT)


# --- the way to one person's page and back -------------------------------------------------------------

PERSON_PAGE = "pages/user.py"
USERS_PAGE = "pages/users.py"
OPEN_PERSON_KEY = "users.open_person"  # the user_id whose Details the admin clicked
BACK_KEY = "person.back_params"  # the listing's URL parameters when the person's page was opened


def ask_open_person(user_id: str) -> None:
    """Details' callback: note the wish (a callback cannot change page); `open_person_if_asked` does."""
    st.session_state[OPEN_PERSON_KEY] = user_id


def open_person_if_asked() -> None:
    """Go to the person's page (`/user?id=...`) if Details was clicked, remembering this listing's view."""
    user_id = st.session_state.pop(OPEN_PERSON_KEY, None)
    if user_id:
        st.session_state[BACK_KEY] = dict(st.session_state.get(LOADED_KEY) or {})
        st.switch_page(PERSON_PAGE, query_params={"id": user_id})


def back_params() -> dict[str, str]:
    """The listing's URL parameters the person's page was opened from (none for a shared link)."""
    return dict(st.session_state.get(BACK_KEY) or {})


def back_to_listing() -> None:
    """Back to the listing with its search, filters, sort, view and page as they were."""
    # The widgets' state is gone after another page ran: let the URL decide again (sync_widgets_from_url).
    st.session_state.pop(LOADED_KEY, None)
    st.switch_page(USERS_PAGE, query_params=back_params())
