"""The "New user" page's parts: one person (a password or an invitation) and a bulk invite from a list.

The invitation links are secrets: kept in session state for the next run only, shown once with a copy
button, never in the URL, a log or the audit row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from admin_core import invitations
from admin_core.auth import Identity
from admin_core.errors import AdminError
from admin_core.newusers import BulkReport, DatabaseConnection, Invitation, parse_bulk
from admin_core.passwords import problems
from admin_core.timetext import exact_time
from admin_core.ui.chrome import md, show_error

PERSON_PAGE = "pages/user.py"
TOAST = "newuser.toast"
ERROR = "newuser.error"  # (message, existing user_id or None)
RESULT = "newuser.result"  # Invitation: shown on the next run only, then dropped
BULK_REPORT = "newuser.bulk_report"  # BulkReport, links included: shown once, then dropped
BULK_TEXT = "newuser.bulk_text"
BULK_FILE = "newuser.bulk_file"
BULK_PREVIEW = "newuser.bulk_preview"  # the text last previewed; Create works on exactly that

HOW = {
    "invite": "Invite: they choose their own password",
    "password": "Set a password now",
}
DELIVERY = {
    invitations.LINK: "Show me a link to give them (shown once)",
    invitations.EMAIL: "Auth0 emails them a link to set their password",
}
NO_POLICY = (
    "Auth0 did not send this connection's password policy (the app's grant lacks read:connections_options), "
    "so the password is checked by Auth0 when the user is created."
)


def heading() -> None:
    st.title("New user")
    if message := st.session_state.pop(TOAST, None):
        st.toast(md(message), icon=":material/check_circle:")


def connections() -> tuple[DatabaseConnection, ...]:
    """The tenant's database connections, or the reason in words (and none)."""
    try:
        found = invitations.database_connections()
    except AdminError as exc:
        show_error(exc)
        return ()
    if not found:
        show_error(
            "This tenant has no database connection (username and password), so users cannot be created "
            "here: people from social or enterprise connections are created at their first sign-in.",
            level="info",
        )
    return found


def _picked(found: tuple[DatabaseConnection, ...], key: str) -> DatabaseConnection:
    names = [c.name for c in found]
    by_name = {c.name: c for c in found}
    name = st.selectbox("Database connection", names, key=key, format_func=lambda n: by_name[n].label)
    return by_name[name or names[0]]


def _outcome() -> None:
    """What the last click did: the invitation (link shown once) or the refusal in words."""
    invitation: Invitation | None = st.session_state.pop(RESULT, None)
    if invitation is not None and invitation.link:
        st.success(
            "The invitation link, shown this once: copy it now (the button at its right) and give it to "
            f"{invitation.user.email}. With it they choose their password; their email counts as verified."
        )
        st.code(invitation.link, language=None, wrap_lines=True)
        if invitation.expires_at:
            days = max(0, int((invitation.expires_at - datetime.now(UTC)).total_seconds() // 86400))
            st.caption(f"It expires {exact_time(invitation.expires_at)}, in about {days} days.")
    if invitation is not None:
        st.page_link(PERSON_PAGE, label="Open their page", query_params={"id": invitation.user.user_id})
    error = st.session_state.pop(ERROR, None)
    if error:
        show_error(error[0])
        if error[1]:
            st.page_link(PERSON_PAGE, label="Open the existing person", query_params={"id": error[1]})


def _create(identity: Identity, connection: str) -> None:
    """The Create button's callback (before the rerun, so the form can be cleared)."""
    state = st.session_state
    email, name = state.get("newuser.email", ""), state.get("newuser.name", "")
    try:
        if state.get("newuser.how") == "password":
            user = invitations.create_user(
                identity=identity,
                connection=connection,
                email=email,
                name=name,
                password=state.get("newuser.password", ""),
            )
            state[RESULT] = Invitation(user=user)
            state[TOAST] = f"Created {user.email}: they can sign in with the password you set."
        else:
            how = state.get("newuser.delivery") or invitations.LINK
            invitation = invitations.invite_user(
                identity=identity, connection=connection, email=email, name=name, how=how
            )
            state[RESULT] = invitation
            state[TOAST] = (
                f"Invited {invitation.user.email}: Auth0 emailed them a link."
                if invitation.emailed
                else f"Invited {invitation.user.email}: copy the link below for them."
            )
    except AdminError as exc:
        state[ERROR] = (exc.message, getattr(exc, "user_id", None))
        return
    for key in ("newuser.email", "newuser.name", "newuser.password"):
        state[key] = ""


def one_person(identity: Identity, found: tuple[DatabaseConnection, ...]) -> None:
    st.subheader("One person")
    _outcome()
    connection = _picked(found, "newuser.connection")
    st.text_input("Email", key="newuser.email", placeholder="name@example.com")
    st.text_input("Name (optional)", key="newuser.name")
    how = st.radio("How they get in", list(HOW), format_func=HOW.__getitem__, key="newuser.how")
    ready = bool(st.session_state.get("newuser.email", "").strip())
    if how == "password":
        password = st.text_input("Password", type="password", key="newuser.password")
        if connection.policy is None:
            st.caption(md(NO_POLICY))
        else:
            st.caption(md(connection.policy.describe()))
            unmet = problems(password, connection.policy) if password else []
            for problem in unmet:
                st.warning(md(problem))
            ready = ready and bool(password) and not unmet
        ready = ready and bool(password)
        label = "Create user"
    else:
        st.radio("The invitation", list(DELIVERY), format_func=DELIVERY.__getitem__, key="newuser.delivery")
        st.caption(
            "They are created with a random password nobody sees, then choose their own through the link."
        )
        label = "Invite"
    st.button(
        label,
        key="newuser.create",
        type="primary",
        disabled=not ready,
        on_click=_create,
        args=(identity, connection.name),
    )


# --- bulk ---------------------------------------------------------------------------------------------


def _bulk_text() -> str:
    upload = st.session_state.get(BULK_FILE)
    if upload is not None:
        return upload.getvalue().decode("utf-8-sig", "replace")
    return str(st.session_state.get(BULK_TEXT) or "")


def _bulk_create(identity: Identity, connection: str, how: str) -> None:
    rows = parse_bulk(st.session_state.get(BULK_PREVIEW) or "")
    try:
        report = invitations.bulk_invite(identity=identity, connection=connection, rows=rows, how=how)
    except AdminError as exc:
        st.session_state[ERROR] = (exc.message, None)
        return
    st.session_state[BULK_REPORT] = report
    st.session_state.pop(BULK_PREVIEW, None)
    st.session_state[TOAST] = (
        f"Invited {len(report.invited)}; {len(report.skipped)} already present; {len(report.failed)} failed."
    )


def _report(report: BulkReport, with_links: bool) -> None:
    st.success(
        "Done. Each row's outcome is below" + (", with the links shown this once." if with_links else ".")
    )
    lines = [
        {"line": r.line, "email": r.email, "outcome": "invited", "link": i.link or ""}
        for r, i in report.invited
    ]
    lines += [
        {"line": r.line, "email": r.email, "outcome": "already present: skipped", "link": ""}
        for r, _ in report.skipped
    ]
    lines += [
        {"line": r.line, "email": r.email, "outcome": f"failed: {m}", "link": ""} for r, m in report.failed
    ]
    frame = (
        pd.DataFrame(lines).sort_values("line")
        if lines
        else pd.DataFrame(columns=["line", "email", "outcome", "link"])
    )
    if not with_links and "link" in frame:
        frame = frame.drop(columns=["link"])
    st.dataframe(frame, hide_index=True, key="newuser.bulk_outcome")
    for row, user_id in report.skipped:
        if user_id:
            st.page_link(PERSON_PAGE, label=f"Open {row.email}", query_params={"id": user_id})


def bulk(identity: Identity, found: tuple[DatabaseConnection, ...]) -> None:
    st.subheader("Bulk invite")
    st.caption(
        "One person per line: an email, optionally a comma and a name (a CSV file with `email` and `name` "
        "columns works too). People Auth0 already has are skipped and listed."
    )
    report: BulkReport | None = st.session_state.pop(BULK_REPORT, None)
    how = st.radio(
        "The invitations", list(DELIVERY), format_func=DELIVERY.__getitem__, key="newuser.bulk_how"
    )
    if report is not None:
        _report(report, with_links=how == invitations.LINK)
    connection = _picked(found, "newuser.bulk_connection")
    st.text_area("Emails and names", key=BULK_TEXT, placeholder="ada@example.com, Ada Lovelace")
    st.file_uploader("or a CSV file", type=["csv", "txt"], key=BULK_FILE)
    if st.button("Preview", key="newuser.bulk_preview_button"):
        st.session_state[BULK_PREVIEW] = _bulk_text()
    previewed = st.session_state.get(BULK_PREVIEW)
    if previewed is None:
        return
    rows = parse_bulk(previewed)
    good = [r for r in rows if r.problem is None]
    frame = pd.DataFrame(
        [{"line": r.line, "email": r.email, "name": r.name or "", "check": r.problem or "ok"} for r in rows],
        columns=["line", "email", "name", "check"],
    )
    st.dataframe(frame, hide_index=True, key="newuser.bulk_rows")
    st.button(
        f"Invite {len(good)} {'person' if len(good) == 1 else 'people'}",
        key="newuser.bulk_create",
        type="primary",
        disabled=not good,
        on_click=_bulk_create,
        args=(identity, connection.name, how),
    )
