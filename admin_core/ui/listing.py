"""The Users page's view state, kept in `st.query_params` so a filtered view is a shareable link."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import streamlit as st

from admin_core.directory import PAGE_SIZES, SEARCH_CAP, SORTS, UserQuery, build_query

VIEWS = ("grid", "table")
KNOWN_CONNECTIONS = ("Username-Password-Authentication", "google-oauth2", "github")


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
        default = asdict(ListingState())
        out = {}
        for key, value in asdict(self).items():
            if value != default[key]:
                out[key] = "1" if value is True else str(value)
        return out


def _int(raw: str | None, default: int, allowed=None, low: int = 0, high: int = 10_000) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    if allowed is not None and value not in allowed:
        return default
    return min(max(value, low), high)


def from_params(params) -> ListingState:
    """Read the state from the URL, ignoring anything malformed (links get edited by hand)."""
    size = _int(params.get("size"), 24, allowed=PAGE_SIZES)
    return ListingState(
        text=(params.get("text") or "")[:500],
        advanced=params.get("advanced") == "1",
        blocked=params.get("blocked") == "1",
        never=params.get("never") == "1",
        connection=(params.get("connection") or "")[:200],
        sort=params.get("sort") if params.get("sort") in SORTS else "last_login",
        view=params.get("view") if params.get("view") in VIEWS else "grid",
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


def sync_widgets_from_url() -> ListingState:
    """On a session's first run (or a pasted link) the URL decides; afterwards the widgets do."""
    state = from_params(st.query_params)
    if st.session_state.get("users.loaded_params") != st.query_params.to_dict():
        for field, key in WIDGET_KEYS.items():
            st.session_state[key] = getattr(state, field)
        st.session_state["users.page"] = state.page
    return state


def state_from_widgets() -> ListingState:
    values = {
        field: st.session_state.get(key, getattr(ListingState(), field)) for field, key in WIDGET_KEYS.items()
    }
    values["connection"] = values.get("connection") or ""
    return ListingState(page=st.session_state.get("users.page", 0), **values)


def publish(state: ListingState) -> None:
    """Write the state to the URL (only when it changed, to avoid needless browser history entries)."""
    params = state.to_params()
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state["users.loaded_params"] = params


def reset_page() -> None:
    """Any change of search, filter, sort or size starts again at the first page."""
    st.session_state["users.page"] = 0


def go_to(page: int) -> None:
    st.session_state["users.page"] = page
