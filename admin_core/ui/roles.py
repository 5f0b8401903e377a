"""Roles, drawn: the Roles tab of a person's page (their roles with each role's description, add from the
tenant's roles, remove one behind a confirmation) and the Users table's bar for the ticked rows.

Role names and descriptions come from Auth0 and are shown as text. Changes go through `actions` (audited,
admins only, re-checked with Auth0); a refusal (self-demotion, the last admin) is said in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from admin_core import actions, runtime
from admin_core.auth import Identity, require_change, require_session
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed
from admin_core.roles import RoleCatalogue, RoleInfo
from admin_core.support import PersonFile, Unavailable
from admin_core.ui import jobs
from admin_core.ui.chrome import md, show_error

CONFIRM = "roles.confirm"  # (user_id, RoleInfo) whose removal awaits the admin's confirmation
TOAST = "roles.toast"
NOTICES = "roles.notices"
PICKS = "roles.picks"  # a counter in the picker's key: a new picker (emptied) after each add
BULK_PICK = "roles.bulk.pick"


def _who(user: User) -> str:
    return user.email or user.user_id


def _note(report: actions.ActionReport, done: str | Callable[[actions.ActionReport], str]) -> None:
    """The toast for what was done; each person it could not be done for, with the reason in words."""
    if report.done:
        st.session_state[TOAST] = done(report) if callable(done) else done
    st.session_state[NOTICES] = [
        f"Not changed: {_who(user)}. {message}" if len(report.done) + len(report.failed) > 1 else message
        for user, message in report.failed
    ]


def _attempt(
    change: Callable[[], actions.ActionReport], done: str | Callable[[actions.ActionReport], str]
) -> None:
    try:
        _note(change(), done)
    except (NotAllowed, AdminError) as exc:  # the whole change refused (no longer an admin, ...)
        st.session_state[NOTICES] = [exc.message]


def show_messages() -> None:
    if message := st.session_state.pop(TOAST, None):
        st.toast(md(message), icon=":material/check_circle:")
    for notice in st.session_state.pop(NOTICES, []):
        show_error(notice)


def catalogue() -> RoleCatalogue | None:
    """The tenant's roles, or None with Auth0's refusal in words."""
    try:
        return runtime.role_catalogue()
    except AdminError as exc:
        show_error(f"The tenant's roles could not be read. {exc.message}", level="warning")
        return None


# --- the person's page ---------------------------------------------------------------------------------


def ask_remove(user_id: str, role: RoleInfo) -> None:
    st.session_state[CONFIRM] = (user_id, role)


def close_confirm() -> None:
    st.session_state.pop(CONFIRM, None)


@st.dialog("Remove a role?", width="medium", on_dismiss=close_confirm)
def confirm_remove(user: User, role: RoleInfo) -> None:
    require_session()  # the dialog's own reruns skip the page's gate
    st.markdown(f"Remove the role **{md(role.name)}** from **{md(user.display_name)}**?")
    st.caption(md(f"{user.email or 'no email'} · {user.user_id}"))
    left, right = st.columns(2)
    if left.button("Cancel", key="roles.confirm.cancel", width="stretch"):
        close_confirm()
        st.rerun()
    if right.button("Remove", key="roles.confirm.ok", type="primary", width="stretch"):
        _attempt(
            lambda: actions.remove_role(identity=require_change(), user=user, role=role),
            f"Removed the role {role.name} from {_who(user)}",
        )
        close_confirm()
        st.rerun()


def section(file: PersonFile, identity: Identity) -> None:
    """The person's roles, each with its description; for admins, add and remove."""
    user = file.user
    show_messages()
    wish = st.session_state.get(CONFIRM)
    if wish and identity.can_change and wish[0] == user.user_id:
        confirm_remove(user, wish[1])
    elif wish:
        close_confirm()
    st.subheader("Roles")
    if isinstance(file.roles, Unavailable):
        show_error(file.roles.message, level="warning")
        return
    held = file.roles
    if not held:
        st.markdown("No roles: this person can sign in to applications but not to this admin tool.")
    admin_role = runtime.get_settings().admin_role
    for number, role in enumerate(held):
        with st.container(horizontal=True, vertical_alignment="center", key=f"person-role-{number}"):
            with st.container():
                st.markdown(f"**{md(role.name)}**")
                st.caption(md(role.description or "No description in Auth0."))
            if not identity.can_change:
                continue
            if role.name == admin_role and user.user_id == identity.sub:
                st.caption(
                    f"You cannot remove the {md(admin_role)} role from yourself. Ask another admin.",
                    width=240,
                )
            else:
                st.button(
                    "Remove",
                    key=f"roles.remove:{role.role_id}",
                    on_click=ask_remove,
                    args=(user.user_id, role),
                    icon=":material/remove_circle:",
                    help=md(f"Remove the role {role.name}"),
                )
    if identity.can_change:
        add_roles(user, held)


def add_roles(user: User, held: Sequence[RoleInfo]) -> None:
    """A picker of the tenant's roles the person does not hold yet, and Add."""
    found = catalogue()
    if found is None:
        return
    have = {r.role_id for r in held}
    offered = [r for r in found.roles if r.role_id not in have]
    if not found.complete:
        st.caption("The tenant has more roles than this list shows; the first ones are offered.")
    if not offered:
        st.caption("This person already has every role of the tenant.")
        return
    by_id = {r.role_id: r for r in offered}
    picks = st.session_state.get(PICKS, 0)
    chosen = st.multiselect(
        "Add roles",
        list(by_id),
        format_func=lambda rid: (
            f"{by_id[rid].name} — {by_id[rid].description}" if by_id[rid].description else by_id[rid].name
        ),
        key=f"roles.pick:{user.user_id}:{picks}",
        placeholder=f"Choose from the tenant's {len(found.roles):,} roles",
    )
    if st.button("Add", key="roles.add", type="primary", disabled=not chosen, icon=":material/add:"):
        roles = [by_id[rid] for rid in chosen]
        names = ", ".join(r.name for r in roles)
        _attempt(
            lambda: actions.add_roles(identity=require_change(), user=user, roles=roles),
            f"Added the role{'s' if len(roles) > 1 else ''} {names} to {_who(user)}",
        )
        st.session_state[PICKS] = picks + 1
        st.rerun()


# --- the Users table: the ticked rows ---------------------------------------------------------------------


def bulk_bar(chosen: list[User]) -> None:
    """Add a role to / remove a role from every ticked row (one audited change each; failures listed)."""
    show_messages()
    jobs.progress("roles")  # the role change started here, while it runs
    if not chosen:
        return
    found = catalogue()
    if found is None or not found.roles:
        return
    by_id = found.by_id()
    with st.container(horizontal=True, vertical_alignment="bottom"):
        picked = st.selectbox(
            "Role for the ticked rows",
            list(by_id),
            format_func=lambda rid: by_id[rid].name,
            key=BULK_PICK,
            width=280,
        )
        role = by_id.get(picked) if picked else None
        if role is None:
            return
        count = len(chosen)
        if st.button(f"Add role to {count}", key="bulk.role_add"):
            _bulk_job("role_add", chosen, role, lambda r: f"Added the role {role.name} to {_count(r.done)}")
        if st.button(f"Remove role from {count}", key="bulk.role_remove"):
            _bulk_job(
                "role_remove", chosen, role, lambda r: f"Removed the role {role.name} from {_count(r.done)}"
            )


def _bulk_job(
    action: str, chosen: list[User], role: RoleInfo, done: Callable[[actions.ActionReport], str]
) -> None:
    """The role change runs as a bulk job on the server (admin_core.ui.jobs): a panel while it runs."""

    def refused(exc: NotAllowed) -> None:
        st.session_state[NOTICES] = [exc.message]

    jobs.start(
        panel="roles",
        action=action,
        users=chosen,
        role=role,
        announce=lambda r: _note(r, done),
        refused=refused,
    )
    st.rerun()


def _count(users: Sequence[User]) -> str:
    return _who(users[0]) if len(users) == 1 else f"{len(users)} users"
