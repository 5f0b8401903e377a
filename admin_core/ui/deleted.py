"""The Audit page's "Deleted people": profiles kept before a delete, with "Re-create" (admins only).

Every value shown comes from outside (names, emails, connections, Auth0's words) and is drawn as text
(`chrome.md`). The re-creation itself is `actions.recreate_deleted`; this module draws and calls it.
"""

from __future__ import annotations

import streamlit as st

from admin_core import actions, deleted, runtime
from admin_core.audit import AuditError
from admin_core.auth import Identity
from admin_core.errors import AdminError
from admin_core.ui.chrome import md, show_error

OUTCOME = "deleted.outcome"
PURGE_CONFIRM = "deleted.purge_confirm"
DATE = "%Y-%m-%d %H:%M UTC"


def _recreate(identity: Identity, kept_id: int) -> None:
    try:
        result = actions.recreate_deleted(identity=identity, kept_id=kept_id)
    except AdminError as exc:  # refused below the UI (e.g. no longer an admin in Auth0)
        st.session_state[OUTCOME] = ("error", exc.message)
        return
    if result.error is None:
        st.session_state[OUTCOME] = (
            "ok",
            f"Re-created as {result.new_user_id}; a password-reset email was sent.",
        )
    else:
        st.session_state[OUTCOME] = ("error", result.error)


def _purge(identity: Identity) -> None:
    st.session_state[PURGE_CONFIRM] = False
    try:
        removed = actions.purge_deleted_profiles(identity=identity)
    except (AdminError, AuditError) as exc:
        st.session_state[OUTCOME] = ("error", exc.message)
        return
    st.session_state[OUTCOME] = ("ok", f"{removed} kept profile(s) removed for good.")


def _outcome() -> None:
    outcome = st.session_state.pop(OUTCOME, None)
    if outcome is None:
        return
    kind, message = outcome
    if kind == "ok":
        st.toast(md(message), icon=":material/check_circle:")
    else:
        show_error(message)


def deleted_people(identity: Identity) -> None:
    """The section: one row per kept profile, newest delete first; nothing for anyone but an admin."""
    if not identity.can_change:
        return
    st.header("Deleted people")
    days = runtime.get_settings().deleted_profile_days
    if days > 0:
        st.caption(
            f"Before a delete the app keeps the person's profile, metadata and roles for {days} days "
            "(DELETED_PROFILE_DAYS), so they can be re-created here; then the copy is removed for good."
        )
    else:
        st.caption("DELETED_PROFILE_DAYS is 0: no profile is kept when someone is deleted.")
    _outcome()
    try:
        people = deleted.kept_people(runtime.get_audit())
    except AuditError as exc:
        show_error(exc.message)
        return
    if not people:
        st.caption("Nobody deleted is kept at the moment.")
        return
    for kept in people:
        with st.container(border=True, key=f"kept-{kept.kept_id}"):
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"**{md(kept.who)}**")
            roles = ", ".join(r.name for r in kept.roles) or "no roles"
            left.caption(
                md(
                    f"{kept.user_id} · {kept.connection or 'unknown connection'} · {roles} · deleted "
                    f"{kept.deleted_at.strftime(DATE)} by {kept.deleted_by}"
                )
            )
            if kept.recreated_user_id is not None:
                left.caption(md(f"Re-created as {kept.recreated_user_id}"))
            elif (why := kept.why_not()) is not None:
                left.caption(md(why))
            else:
                right.button(
                    "Re-create",
                    key=f"recreate:{kept.kept_id}",
                    on_click=_recreate,
                    args=(identity, kept.kept_id),
                    help="A new user with the same email, name, metadata and roles on the same connection, "
                    "and a password-reset email.",
                )
    if st.session_state.get(PURGE_CONFIRM):
        st.warning("Remove every kept profile for good? They cannot be re-created afterwards.")
        c1, c2 = st.columns(2)
        c1.button("Remove for good", key="deleted.purge", type="primary", on_click=_purge, args=(identity,))
        c2.button(
            "Cancel",
            key="deleted.purge_cancel",
            on_click=lambda: st.session_state.update({PURGE_CONFIRM: False}),
        )
    else:
        st.button(
            "Remove every kept profile now",
            key="deleted.purge_ask",
            on_click=lambda: st.session_state.update({PURGE_CONFIRM: True}),
        )
