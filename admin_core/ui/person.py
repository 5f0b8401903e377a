"""One person's page, drawn: Summary (why they cannot sign in), Activity (their Auth0 log), Security (the
fixes), Profile. Everything a person typed or Auth0 sent is shown as text, never as Markdown or HTML.

The page reads through `runtime` (cached; a section Auth0 would not give is `Unavailable`) and changes
through `actions` (audited, admins only, each behind a confirmation naming the person).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from admin_core import actions, runtime
from admin_core.auth import Identity, require_change, require_session
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed, UserGone
from admin_core.logcodes import describe, is_failure
from admin_core.support import (
    GRANT_PLACE,
    LOG_RETENTION_DAYS,
    LOGS_CAP,
    AuthMethod,
    BruteForceBlock,
    LogEvent,
    LogPage,
    PersonFile,
    ResetLink,
    Unavailable,
)
from admin_core.ui import editor, listing, roles
from admin_core.ui.cards import clip, exact_time, relative_time, render_detail
from admin_core.ui.chrome import md, show_error
from admin_core.ui.pager import render_pager
from admin_core.verdicts import Fix, Severity, Verdict, diagnose, has_password, provider_name

SHOWN = "person.shown"  # the user_id this session's page state below belongs to
CONFIRM = "person.confirm"  # (user_id, fix key) awaiting the admin's confirmation
TOAST = "person.toast"
NOTICES = "person.notices"
RESET_LINK = "person.reset_link"  # (user_id, ResetLink): shown on the next run only, then dropped
LOG_PAGE = "person.log_page"
FAILURES_ONLY = "person.failures_only"
SESSIONS_OPEN = "person.sessions_open"

GONE = "This person no longer exists in Auth0. They may have been deleted since the link was made."
NO_ID = "No person was given. Open someone's Details on the Users page."


# --- the fixes ---------------------------------------------------------------------------------------


def _who(user: User) -> str:
    return user.email or user.user_id


def _from_report(report: actions.ActionReport, done: str) -> str:
    """The toast for a done change, or raise the failure's words (the page shows them as a notice)."""
    if report.failed:
        raise AdminError(f"Not done: {report.failed[0][1]}")
    return done


@dataclass(frozen=True)
class FixAction:
    label: str  # the button
    question: str  # the confirmation; `{name}` is the person's name (escaped)
    run: Callable[[Identity, User], str]  # does it (audited); returns the toast; raises AdminError


def _reset_link(identity: Identity, user: User) -> str:
    link = actions.create_reset_link(identity=identity, user=user)
    # Session state only, for the next run, which shows it once and drops it: never the URL bar or a log.
    st.session_state[RESET_LINK] = (user.user_id, link)
    return f"Created a password reset link for {_who(user)}"


FIXES: dict[str, FixAction] = {
    "unblock": FixAction(
        "Unblock",
        "Unblock **{name}**? They can sign in again.",
        lambda i, u: _from_report(
            actions.set_blocked(identity=i, user=u, blocked=False), f"Unblocked {_who(u)}"
        ),
    ),
    "unlock": FixAction(
        "Unblock for all IPs",
        "Remove the brute-force locks on **{name}** for every IP address?",
        lambda i, u: _from_report(
            actions.unlock(identity=i, user=u), f"Removed the brute-force locks on {_who(u)}"
        ),
    ),
    "reset_email": FixAction(
        "Send password reset email",
        "Send **{name}** an email with a link to choose a new password?",
        lambda i, u: _from_report(
            actions.send_password_reset(identity=i, user=u), f"Sent a password reset email to {_who(u)}"
        ),
    ),
    "reset_link": FixAction(
        "Create a reset link",
        "Create a password reset link for **{name}**? It is shown to you once; give it to them yourself.",
        _reset_link,
    ),
    "resend_verification": FixAction(
        "Resend verification email",
        "Send **{name}** the verification email again?",
        lambda i, u: _from_report(
            actions.resend_verification(identity=i, user=u), f"Sent a verification email to {_who(u)}"
        ),
    ),
    "mark_verified": FixAction(
        "Mark as verified",
        "Mark the email address of **{name}** as verified without them clicking a link?",
        lambda i, u: _from_report(actions.mark_verified(identity=i, user=u), f"Marked {_who(u)} as verified"),
    ),
    "reset_mfa": FixAction(
        "Reset MFA",
        "Remove every second factor **{name}** enrolled? They enroll again at their next sign-in.",
        lambda i, u: _from_report(actions.reset_mfa(identity=i, user=u), f"Reset MFA for {_who(u)}"),
    ),
    "forget_browsers": FixAction(
        "Forget remembered browsers",
        "Make every browser of **{name}** ask for their second factor again?",
        lambda i, u: _from_report(
            actions.forget_browsers(identity=i, user=u), f"Forgot the remembered browsers of {_who(u)}"
        ),
    ),
    "sign_out_everywhere": FixAction(
        "Sign out everywhere",
        "End every session of **{name}** and revoke their refresh tokens?",
        lambda i, u: _from_report(
            actions.sign_out_everywhere(identity=i, user=u), f"Signed {_who(u)} out everywhere"
        ),
    ),
}

# The button each verdict's fix names (a verdict names at most one).
FIX_BUTTON = {
    Fix.UNBLOCK: "unblock",
    Fix.UNLOCK: "unlock",
    Fix.PASSWORD: "reset_email",
    Fix.VERIFY_EMAIL: "resend_verification",
    Fix.RESET_MFA: "reset_mfa",
}


def ask(user_id: str, fix: str) -> None:
    """A fix button's callback: open the confirmation (from a flag: dialogs open on a full run)."""
    st.session_state[CONFIRM] = (user_id, fix)


def fix_button(user: User, fix: str, *, where: str, primary: bool = False) -> None:
    st.button(
        FIXES[fix].label,
        key=f"{where}.fix:{fix}",
        on_click=ask,
        args=(user.user_id, fix),
        type="primary" if primary else "secondary",
    )


def close_confirm() -> None:
    st.session_state.pop(CONFIRM, None)


@st.dialog("Please confirm", width="medium", on_dismiss=close_confirm)
def confirm(user: User, fix: str) -> None:
    require_session()  # the dialog's own reruns skip the page's gate: a signed-out session sees nothing
    action = FIXES[fix]
    st.markdown(action.question.format(name=md(user.display_name)))
    st.caption(md(f"{user.email or 'no email'} · {user.user_id}"))
    left, right = st.columns(2)
    if left.button("Cancel", key="person.confirm.cancel", width="stretch"):
        close_confirm()
        st.rerun()
    if right.button(action.label, key="person.confirm.ok", type="primary", width="stretch"):
        perform(user, fix)
        close_confirm()
        st.rerun()


def perform(user: User, fix: str) -> None:
    """Do the fix as the admin of this moment (not the page's captured identity) and note what happened."""
    try:
        # The identity of this moment: a dialog's click reruns only the dialog (see pages/users.py).
        st.session_state[TOAST] = FIXES[fix].run(require_change(), user)
    except (NotAllowed, AdminError) as exc:
        st.session_state[NOTICES] = [exc.message]
    # Every action makes the person's page read Auth0 again (admin_core.actions), so the Summary shows
    # Auth0's state after the change, or after a change that half happened.


# --- the page's frame ---------------------------------------------------------------------------------


def start() -> str | None:
    """The person's user_id from the URL (`/user?id=...`); page state from another person is dropped."""
    user_id = st.query_params.get("id") or None
    if st.session_state.get(SHOWN) != user_id:
        for key in (CONFIRM, LOG_PAGE, FAILURES_ONLY, SESSIONS_OPEN):
            st.session_state.pop(key, None)
        st.session_state[SHOWN] = user_id
    return user_id


def back_button() -> None:
    label = "Back to the users" if not listing.back_params() else "Back to the list"
    if st.button(label, key="person.back", icon=":material/arrow_back:"):
        listing.back_to_listing()


def load(user_id: str | None) -> PersonFile | None:
    """Everything the page shows at once (cached), or None with the reason shown and the way back."""
    if not user_id:
        st.info(NO_ID)
        return None
    try:
        return runtime.person_file(user_id)
    except UserGone:
        st.warning(GONE)
        return None
    except AdminError as exc:
        show_error(exc.message)
        return None


def show_messages() -> None:
    if message := st.session_state.pop(TOAST, None):
        st.toast(md(message), icon=":material/check_circle:")
    for notice in st.session_state.pop(NOTICES, []):
        show_error(notice)


def open_dialog(file: PersonFile, identity: Identity) -> None:
    wish = st.session_state.get(CONFIRM)
    if not wish or not identity.can_change:
        return
    user_id, fix = wish
    if user_id != file.user.user_id or fix not in FIXES:
        close_confirm()
        return
    confirm(file.user, fix)


HEADING_LIMIT = 80


def heading(file: PersonFile) -> None:
    user = file.user
    # Clipped like a card's: a 10,000-character name would fill the screen above the Summary. In full on hover.
    long = len(user.display_name) > HEADING_LIMIT
    st.header(md(clip(user.display_name, HEADING_LIMIT)), help=md(user.display_name) if long else None)
    badges = [f":gray-badge[{md(user.connection or 'unknown connection')}]"]
    if user.blocked:
        badges.insert(0, ":red-badge[:material/block: Blocked]")
    st.markdown(f"{md(user.email or 'no email')} · {' '.join(badges)}")
    st.caption(md(f"User ID {user.user_id} · read from Auth0 {relative_time(file.fetched_at)}"))


def unavailable(section: Unavailable) -> None:
    """A section Auth0 would not give: its words, and where to add the missing scope."""
    show_error(section.message, level="warning")
    if section.scope and GRANT_PLACE not in section.message:
        st.caption(md(f"Add the scope {section.scope} to this app's grant in {GRANT_PLACE}."))


# --- Summary ------------------------------------------------------------------------------------------

BOXES = {
    Severity.PROBLEM: st.error,
    Severity.WARNING: st.warning,
    Severity.OK: st.success,
    Severity.UNKNOWN: st.info,
    Severity.NOTE: st.info,
}


def summary(file: PersonFile, identity: Identity) -> None:
    """The verdicts, most serious first, each with its evidence and the fix this page offers."""
    st.subheader("Summary")
    verdicts = diagnose(file.user, blocks=file.blocks, logs=file.logs, mfa=file.mfa, now=datetime.now(UTC))
    for number, verdict in enumerate(verdicts):
        verdict_box(file.user, verdict, identity, number)


def verdict_box(user: User, verdict: Verdict, identity: Identity, number: int) -> None:
    """One verdict: headline and evidence in one box (both escaped), then its fix or who can fix it."""
    text = f"**{md(verdict.headline)}**" + (f"  \n{md(verdict.evidence)}" if verdict.evidence else "")
    fix = FIX_BUTTON.get(verdict.fix) if verdict.fix else None
    with st.container(horizontal=True, vertical_alignment="center", key=f"person-verdict-{number}"):
        BOXES.get(verdict.severity, st.info)(text, width="stretch")
        if fix is None:
            return
        if identity.can_change and not (fix == "reset_mfa" and user.user_id == identity.sub):
            fix_button(user, fix, where=f"summary{number}", primary=True)
        else:
            st.caption(f"An admin can fix this on this page: {FIXES[fix].label}.", width=220)


# --- Activity ------------------------------------------------------------------------------------------


def go_to_log_page(page: int) -> None:
    st.session_state[LOG_PAGE] = page


def first_log_page() -> None:
    st.session_state[LOG_PAGE] = 0


def retention_note() -> str:
    days = sorted(set(LOG_RETENTION_DAYS.values()))
    return (
        f"Auth0 keeps logs for {days[0]} to {days[-1]} days, by plan (Free and Starter 1 day, "
        "Essentials 5, Professional 10, Enterprise 30), and a person's log can be paged through to its "
        f"{LOGS_CAP:,}th entry, no further."
    )


def activity(file: PersonFile) -> None:
    """The person's Auth0 log, newest first, paged; the event type in words."""
    user_id = file.user.user_id
    failures_only = st.toggle("Failures only", key=FAILURES_ONLY, on_change=first_log_page)
    page = st.session_state.get(LOG_PAGE, 0)
    logs: LogPage | Unavailable
    if page == 0 and not failures_only:
        logs = file.logs  # what the page read at once: no extra request
    else:
        logs = runtime.person_logs(user_id, page=page, failures_only=failures_only)
    st.caption(retention_note())
    if isinstance(logs, Unavailable):
        unavailable(logs)
        return
    if not logs.events:
        st.info(
            "No failed sign-ins or other failures in what Auth0 still keeps for this person."
            if failures_only
            else "Auth0 has no log entries for this person in what it still keeps. That does not mean "
            "nothing happened: older events are gone once the plan's retention has passed."
        )
        if page > 0:
            st.button("Back to the newest entries", key="person.logs.first", on_click=first_log_page)
        return
    now = datetime.now(UTC)
    for event in logs.events:
        log_row(event, now)
    render_pager(
        page=logs.page,
        pages=logs.page_count,
        counted=f"{logs.total:,} entries",
        go_to=go_to_log_page,
        prev_key="person.logs.prev",
        next_key="person.logs.next",
    )
    if logs.capped:
        st.caption(f"Auth0 counts {logs.total:,} entries; pages past the {LOGS_CAP:,}th cannot be read.")


def log_row(event: LogEvent, now: datetime) -> None:
    """One log entry: what happened in words and when (exact time on hover), then where from."""
    failed = is_failure(event.type)
    icon = ":red[:material/error:]" if failed else ":green[:material/check_circle:]"
    st.markdown(
        f"{icon} **{md(describe(event.type))}** · {relative_time(event.date, now=now)}",
        help=f"{exact_time(event.date)} · event code {md(event.type)}",
    )
    where = [
        f"IP {event.ip}" if event.ip else None,
        f"application {event.client_name or event.client_id}"
        if (event.client_name or event.client_id)
        else None,
        f"connection {event.connection}" if event.connection else None,
        event.description,
    ]
    if line := " · ".join(part for part in where if part):
        st.caption(md(line))


# --- Security ------------------------------------------------------------------------------------------


def security(file: PersonFile, identity: Identity) -> None:
    user = file.user
    admin = identity.can_change
    st.subheader("Blocks")
    if user.blocked:
        st.markdown("Blocked by an admin: Auth0 refuses every sign-in.")
        if admin:
            fix_button(user, "unblock", where="security")
    else:
        st.markdown("Not blocked by an admin.")
    brute_force(file.blocks, user, admin)

    st.subheader("Password")
    password(user, admin)

    st.subheader("Email")
    email(user, admin)

    st.subheader("Multi-factor authentication")
    mfa(file.mfa, user, identity)

    st.subheader("Sessions")
    sessions(user, admin)


def brute_force(blocks: tuple[BruteForceBlock, ...] | Unavailable, user: User, admin: bool) -> None:
    if isinstance(blocks, Unavailable):
        unavailable(blocks)
        return
    if not blocks:
        st.markdown("No brute-force locks.")
        return
    for block in blocks:
        st.markdown(
            md(
                f"Locked by brute-force protection: {block.identifier or 'this person'} from "
                f"{block.ip or 'an unknown IP'}"
            )
        )
    if admin:
        fix_button(user, "unlock", where="security")


def password(user: User, admin: bool) -> None:
    if not has_password(user):
        provider = provider_name(user) or "another provider"
        st.markdown(md(f"Signs in with {provider}; no password to reset here."))
        return
    shown = st.session_state.pop(RESET_LINK, None)  # shown once: gone from the session from now on
    if shown and shown[0] == user.user_id:
        reset_link(shown[1])
    if admin:
        with st.container(horizontal=True):
            fix_button(user, "reset_email", where="security")
            fix_button(user, "reset_link", where="security")
    else:
        st.markdown("Signs in with a password (database connection).")


def reset_link(link: ResetLink) -> None:
    st.success(
        "The reset link, shown this once: copy it now (the button at its right) and give it to the person."
    )
    st.code(link.url, language=None, wrap_lines=True)
    minutes = max(0, int((link.expires_at - datetime.now(UTC)).total_seconds() // 60))
    st.caption(f"It expires {exact_time(link.expires_at)}, in about {minutes:,} minutes.")


def email(user: User, admin: bool) -> None:
    if user.email_verified:
        st.markdown(md(f"{user.email or 'No email'}: verified."))
        return
    st.markdown(md(f"{user.email or 'No email'}: not verified."))
    if admin:
        with st.container(horizontal=True):
            fix_button(user, "resend_verification", where="security")
            fix_button(user, "mark_verified", where="security")


MFA_WORDS = {
    "totp": "Authenticator app (one-time codes)",
    "phone": "SMS or voice",
    "email": "Email codes",
    "push": "Push notifications (Guardian)",
    "guardian": "Push notifications (Guardian)",
    "passkey": "Passkey",
    "webauthn-roaming": "Security key",
    "webauthn-platform": "Device biometrics",
    "recovery-code": "Recovery code",
    "password": "Password",
}


def mfa(methods: tuple[AuthMethod, ...] | Unavailable, user: User, identity: Identity) -> None:
    if isinstance(methods, Unavailable):
        unavailable(methods)
    elif not methods:
        st.markdown("No second factor enrolled.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "method": [MFA_WORDS.get(m.type, m.type) for m in methods],
                    "name": [m.name or "" for m in methods],
                    "confirmed": [
                        "yes" if m.confirmed else "no" if m.confirmed is False else "" for m in methods
                    ],
                    "enrolled": [exact_time(m.created_at) if m.created_at else "" for m in methods],
                    "last used": [relative_time(m.last_auth_at) if m.last_auth_at else "" for m in methods],
                }
            ),
            hide_index=True,
            key="person.mfa",
        )
    if not identity.can_change:
        return
    with st.container(horizontal=True):
        if user.user_id == identity.sub:
            st.caption("Your own MFA cannot be reset here.")
        elif isinstance(methods, Unavailable) or methods:
            fix_button(user, "reset_mfa", where="security")
        fix_button(user, "forget_browsers", where="security")


def open_sessions(user_id: str) -> None:
    st.session_state[SESSIONS_OPEN] = user_id


def sessions(user: User, admin: bool) -> None:
    """Fetched only when asked for (one request; Auth0 has sessions on Enterprise plans only)."""
    if st.session_state.get(SESSIONS_OPEN) != user.user_id:
        st.button("Show sessions", key="person.sessions.show", on_click=open_sessions, args=(user.user_id,))
        return
    found = runtime.person_sessions(user.user_id)
    if isinstance(found, Unavailable):
        unavailable(found)
        return
    if not found:
        st.markdown("No active sessions.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "last active": [relative_time(s.last_interacted_at or s.updated_at) for s in found],
                    "started": [exact_time(s.created_at) for s in found],
                    "expires": [exact_time(s.expires_at) for s in found],
                    "applications": [", ".join(s.clients) for s in found],
                    "IP": [s.ip or "" for s in found],
                    "browser": [s.user_agent or "" for s in found],
                }
            ),
            hide_index=True,
            key="person.sessions",
        )
    if admin:
        fix_button(user, "sign_out_everywhere", where="security")


# --- Profile -------------------------------------------------------------------------------------------


def profile(file: PersonFile) -> None:
    """What the Users page's detail showed: facts, roles, identities, metadata, the full profile as JSON."""
    if isinstance(file.roles, Unavailable):
        render_detail(file.user, None, file.roles.message)  # "The roles could not be read. ..." in words
    else:
        render_detail(file.user, [role.name for role in file.roles], None)


def sections(file: PersonFile, identity: Identity) -> None:
    """Summary on top; then Activity, Security and Profile as tabs."""
    summary(file, identity)
    activity_tab, security_tab, roles_tab, profile_tab = st.tabs(["Activity", "Security", "Roles", "Profile"])
    with activity_tab:
        activity(file)
    with security_tab:
        security(file, identity)
    with roles_tab:
        roles.section(file, identity)
    with profile_tab:
        profile(file)
        editor.section(file, identity)  # issue 16: metadata and profile editing (admins)
