"""Audit log: who did what to which account (admins only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import partial
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from admin_core import runtime
from admin_core.audit import ACTIONS, AuditError, AuditEvent, AuditPage, AuditStore
from admin_core.domain import PAGE_SIZES  # the same sizes as the Users page
from admin_core.ui.chrome import show_error
from admin_core.ui.deleted import deleted_people
from admin_core.ui.gate import require_access
from admin_core.ui.jobs import audit_section as bulk_jobs
from admin_core.ui.pager import render_pager

identity = require_access(admin=True)

ANYONE = "Anyone"
ANY = "Any"
ACTOR = "audit.actor"
ACTION = "audit.action"
TARGET = "audit.target"
DATES = "audit.dates"
SIZE = "audit.size"
PAGE = "audit.page"

ACTION_LABELS = {
    "delete": "Delete",
    "bulk_delete": "Bulk delete",
    "block": "Block",
    "unblock": "Unblock",
    "sign_in": "Sign-in",
    "sign_in_refused": "Sign-in refused",
    "logout": "Log out",
    "recreate": "Re-create a deleted person",
    "purge_deleted": "Remove kept profiles",
    "create_user": "New user",
    "invite_user": "Invitation",
    "bulk_invite": "Bulk invitation",
}
STATE_LABELS = {
    "ok": "done",
    "error": "failed",
    "attempted": "attempted, no outcome recorded",
}
COLUMNS = {
    "time": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss", timezone="UTC"),
    "actor": st.column_config.TextColumn("Who"),
    "action": st.column_config.TextColumn("Action"),
    "target_email": st.column_config.TextColumn("Target email"),
    "target_name": st.column_config.TextColumn("Target name"),
    "target_user_id": st.column_config.TextColumn("Target user_id"),
    "state": st.column_config.TextColumn(
        "Outcome", help="done / failed, or attempted when no outcome was recorded (e.g. the app stopped)."
    ),
    "message": st.column_config.TextColumn("Message", width="large"),
    "actor_sub": st.column_config.TextColumn("Who (sub)"),
    "request_id": st.column_config.TextColumn("Request id"),
}


def filters_from(actor: str | None, action: str | None, target: str | None, dates: Any) -> dict[str, Any]:
    """The widgets' values as keyword arguments of AuditStore.query/export_csv (dates are whole UTC days)."""
    since = until = None
    days = [d for d in (dates or ()) if isinstance(d, date)]
    if days:
        since = datetime.combine(days[0], time.min, tzinfo=UTC)
    if len(days) > 1:
        until = datetime.combine(days[1], time.max, tzinfo=UTC)  # inclusive: the whole last day
    return {
        "actor": None if actor in (None, ANYONE) else actor,
        "exact_actor": True,
        "action": None if action in (None, ANY) else action,
        "target_text": (target or "").strip() or None,
        "since": since,
        "until": until,
    }


def frame(events: list[AuditEvent]) -> pd.DataFrame:
    rows = [
        {
            "time": event.occurred_at,
            "actor": event.actor_email or event.actor_sub,
            "action": event.action,
            "target_email": event.target_email,
            "target_name": event.target_name,
            "target_user_id": event.target_user_id,
            "state": STATE_LABELS.get(event.state, event.state),
            "message": event.message,
            "actor_sub": event.actor_sub,
            "request_id": event.request_id,
        }
        for event in events
    ]
    data = pd.DataFrame(rows, columns=list(COLUMNS))
    data["time"] = pd.to_datetime(data["time"], utc=True)
    return data


def reset_page() -> None:
    st.session_state[PAGE] = 0


def go_to(page: int) -> None:
    st.session_state[PAGE] = max(0, page)


def read_error(exc: AuditError) -> NoReturn:
    show_error(exc.message)
    st.stop()


# --- the page's parts, in the order they are drawn ----------------------------------------------------


def open_store() -> tuple[AuditStore, list[str]]:
    """The audit store and the people who appear in it (the "Who" choices)."""
    try:
        store = runtime.get_audit()
        return store, store.distinct_actors()
    except AuditError as exc:
        read_error(exc)


def controls(actors: list[str]) -> tuple[dict[str, Any], int]:
    """The filter row; returns the filters (AuditStore.query's keywords) and the page size."""
    actor_options = [ANYONE, *actors]
    if st.session_state.get(ACTOR) not in actor_options:
        st.session_state[ACTOR] = ANYONE  # e.g. after the audit database changed under a long session
    if st.session_state.get(ACTION) not in (ANY, *ACTIONS):
        st.session_state[ACTION] = ANY
    if st.session_state.get(SIZE) not in PAGE_SIZES:
        st.session_state[SIZE] = PAGE_SIZES[1]

    c1, c2, c3, c4, c5 = st.columns([2, 1, 2, 2, 1], vertical_alignment="bottom")
    c1.selectbox("Who", options=actor_options, key=ACTOR, on_change=reset_page)
    c2.selectbox(
        "Action",
        options=[ANY, *ACTIONS],
        format_func=lambda a: ACTION_LABELS.get(a, a),
        key=ACTION,
        on_change=reset_page,
    )
    c3.text_input(
        "Target",
        key=TARGET,
        placeholder="email, name or user_id (part of it)",
        on_change=reset_page,
        max_chars=500,
    )
    c4.date_input(
        "Dates (UTC)",
        value=(),
        key=DATES,
        on_change=reset_page,
        format="YYYY-MM-DD",
        help="Whole days in UTC, both ends included. Pick one day to see everything from then on.",
    )
    c5.selectbox("Per page", options=list(PAGE_SIZES), key=SIZE, on_change=reset_page)
    filters = filters_from(
        st.session_state.get(ACTOR),
        st.session_state.get(ACTION),
        st.session_state.get(TARGET),
        st.session_state.get(DATES),
    )
    return filters, st.session_state[SIZE]


def load(store: AuditStore, filters: dict[str, Any], per_page: int) -> tuple[AuditPage, int]:
    """The chosen page of entries and its 0-based number (the last page when the chosen one is past it)."""
    page_number = max(0, int(st.session_state.get(PAGE, 0) or 0))
    try:
        result = store.query(**filters, page=page_number, per_page=per_page)
        if page_number > 0 and page_number >= result.pages:
            # Past the end (fewer matches than when the page was chosen): show the last page instead.
            page_number = result.pages - 1
            st.session_state[PAGE] = page_number
            result = store.query(**filters, page=page_number, per_page=per_page)
    except AuditError as exc:
        read_error(exc)
    return result, page_number


def entries(store: AuditStore, filters: dict[str, Any], result: AuditPage, page_number: int) -> None:
    """The table, the pager and the CSV download, or a line saying there is nothing to show."""
    if not result.total:
        narrowed = any(value is not None for value in filters.values())
        st.info("No audit entries match these filters." if narrowed else "The audit log is empty so far.")
        return
    st.dataframe(
        frame(result.events), column_config=COLUMNS, hide_index=True, width="stretch", key="audit.table"
    )
    noun = "entry" if result.total == 1 else "entries"
    render_pager(
        page=page_number,
        pages=result.pages,
        counted=f"{result.total:,} {noun}",
        go_to=go_to,
        prev_key="audit.prev",
        next_key="audit.next",
    )
    st.download_button(
        f"Download the {result.total:,} matching {noun} as CSV",
        # Built when clicked, not on every rerun. It runs outside the page's script run, so it gets the
        # filters as they are now, not from session state.
        data=partial(store.export_csv, **filters),
        file_name="audit-log.csv",
        mime="text/csv",
        key="audit.csv",
        on_click="ignore",
    )


# --- layout ------------------------------------------------------------------------------------------

st.title("Audit log")
st.caption("Every delete, block and unblock made through this tool, and every sign-in, newest first.")
store, actors = open_store()
filters, per_page = controls(actors)
result, page_number = load(store, filters, per_page)
entries(store, filters, result, page_number)
deleted_people(identity)
bulk_jobs(identity)
