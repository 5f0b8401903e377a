"""The person's page, Profile tab, for admins: edit user_metadata and app_metadata as JSON (checked, with
a diff before Save) and the profile fields. Everything typed or sent by Auth0 is shown as text.

The copy the admin opened is kept in session state: the diff is against it, and a save is refused when
Auth0's copy changed since (another admin's save), instead of silently overwriting that change.
"""

from __future__ import annotations

import streamlit as st

from admin_core import actions
from admin_core.auth import Identity, require_change
from admin_core.domain import User
from admin_core.errors import AdminError
from admin_core.metadata import (
    IDP_OVERWRITES,
    MERGE_RULE,
    METADATA_FIELDS,
    PROFILE_WORDS,
    MetadataEdit,
    MetadataInvalid,
    ProfileInvalid,
    dumps,
    prepare,
    prepare_profile,
)
from admin_core.support import PersonFile
from admin_core.ui.chrome import md, show_error
from admin_core.verdicts import has_password, provider_name

OPENED = "editor.opened"  # (user_id, the User as the admin opened it)
GENERATION = "editor.generation"  # part of every widget key: a new one starts the editors afresh
TOAST = "person.toast"  # shown by person.show_messages on the next run
NOTICES = "person.notices"
EMAIL_CHOICES = {
    "send": "Send a verification email to the new address",
    "verified": "Mark the new address as verified",
    "unverified": "Leave it unverified",
}


def _generation() -> int:
    return int(st.session_state.get(GENERATION, 0))


def reopen() -> None:
    """Edit Auth0's current copy next: new widget keys, so the editors start from it."""
    st.session_state.pop(OPENED, None)
    st.session_state[GENERATION] = _generation() + 1


def _untouched(user: User, generation: int) -> bool:
    """Whether the admin has typed nothing yet in this person's editors (a widget keeps what was typed)."""
    for field in METADATA_FIELDS:
        typed = st.session_state.get(f"editor.{field}.{user.user_id}.{generation}")
        if typed is not None and typed != dumps(getattr(user, field)):
            return False
    for field in PROFILE_WORDS:
        typed = st.session_state.get(f"editor.p.{field}.{user.user_id}.{generation}")
        if typed is not None and typed != (_current(user, field) or ""):
            return False
    return True


def _current(user: User, field: str) -> str | None:
    value = user.profile.get(field) if field == "phone_number" else getattr(user, field, None)
    return value if isinstance(value, str) else None


def section(file: PersonFile, identity: Identity) -> None:
    """The editors, for admins only; viewers keep the read-only profile above."""
    if not identity.can_change:
        return
    held = st.session_state.get(OPENED)
    if held is None or held[0] != file.user.user_id:
        st.session_state[OPENED] = (file.user.user_id, file.user)
    user: User = st.session_state[OPENED][1]
    generation = _generation()
    if user.updated_at != file.user.updated_at and _untouched(user, generation):
        reopen()  # nothing typed yet: edit Auth0's newer copy without asking
        st.session_state[OPENED] = (file.user.user_id, file.user)
        user, generation = file.user, _generation()
    st.subheader("Edit this person")
    if user.updated_at != file.user.updated_at:
        st.warning(
            "Auth0 has a newer copy of this person than the one you are editing. Saving will be refused; "
            "start again from Auth0's copy."
        )
        st.button("Start again from Auth0's copy", key="editor.reload", on_click=reopen)
    # Headings, not tabs: the page's own "Profile" tab must stay the only tab of that name.
    st.markdown("**Metadata**")
    st.caption(md(MERGE_RULE))
    for field in METADATA_FIELDS:
        metadata_editor(user, field, generation)
    st.markdown("**Name, picture and contact**")
    profile_form(user, generation)


def metadata_editor(user: User, field: str, generation: int) -> None:
    shown = getattr(user, field)
    text = st.text_area(
        field,
        value=dumps(shown),
        key=f"editor.{field}.{user.user_id}.{generation}",
        height=180,
        help="JSON object. Checked before anything is sent.",
    )
    try:
        edit = prepare(field, shown=shown, text=text)
    except MetadataInvalid as exc:
        show_error(exc)
        return
    if not edit.changes:
        st.caption("No changes.")
        return
    st.markdown(f"**What Save sends to Auth0 for {field}:**")
    for change in edit.changes:
        st.text(change.sentence())
    if st.button(f"Save {field}", key=f"editor.save.{field}", type="primary"):
        save_metadata(user, edit)


def _after(report: actions.ActionReport, done: str) -> None:
    """A toast and fresh editors when saved; the reason when not (the typed text stays, to copy)."""
    if report.failed:
        st.session_state[NOTICES] = [f"Not saved: {report.failed[0][1]}"]
    else:
        st.session_state[TOAST] = done
        reopen()
    st.rerun()


def save_metadata(user: User, edit: MetadataEdit) -> None:
    try:
        report = actions.save_metadata(identity=require_change(), user=user, edit=edit)
    except AdminError as exc:  # refused before the call (a viewer now, a session ended)
        st.session_state[NOTICES] = [exc.message]
        st.rerun()
    count = len(edit.changes)
    _after(report, f"Saved {count} change{'s' if count != 1 else ''} to the {edit.field} of {_who(user)}")


def _who(user: User) -> str:
    return user.email or user.user_id


def profile_form(user: User, generation: int) -> None:
    database = has_password(user)
    provider = provider_name(user)
    if provider:
        st.info(md(IDP_OVERWRITES.format(provider=provider)))
    fields = ["name", "given_name", "family_name", "nickname", "picture"]
    if database:
        fields += ["email", "phone_number"]
    current = {f: _current(user, f) for f in fields}
    with st.form(key=f"editor.profile.{user.user_id}.{generation}"):
        typed = {
            f: st.text_input(
                PROFILE_WORDS[f], value=current[f] or "", key=f"editor.p.{f}.{user.user_id}.{generation}"
            )
            for f in fields
        }
        choice = "send"
        phone_verified = False
        if database:
            choice = st.radio(
                "If the email changes",
                list(EMAIL_CHOICES),
                format_func=EMAIL_CHOICES.get,
                key=f"editor.p.email_choice.{user.user_id}.{generation}",
            )
            phone_verified = st.checkbox(
                "Mark the new phone number as verified",
                key=f"editor.p.phone_verified.{user.user_id}.{generation}",
            )
        else:
            st.caption("Email and phone number are kept by the person's identity provider, not edited here.")
        submitted = st.form_submit_button("Save profile", type="primary")
    if not submitted:
        return
    try:
        edit = prepare_profile(
            current,
            typed,
            database=database,
            verify_email=choice == "send",
            email_verified=choice == "verified",
            phone_verified=phone_verified,
        )
    except ProfileInvalid as exc:
        show_error(f"Not saved: {exc.message}")
        return
    if not edit.fields:
        st.info("Nothing to save: the values are the same as in Auth0.")
        return
    try:
        report = actions.save_profile(identity=require_change(), user=user, edit=edit)
    except AdminError as exc:
        st.session_state[NOTICES] = [exc.message]
        st.rerun()
    _after(report, f"Saved the profile of {_who(user)}: " + "; ".join(edit.sentences()))
