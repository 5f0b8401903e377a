"""Changes an admin makes, each recorded in the audit log before Auth0 is called and completed after."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn, cast

from admin_core import runtime
from admin_core.audit import AuditError, Target
from admin_core.auth import (
    Identity,
    Role,
    end_session_of,
    note_role,
    rerun_if_session_ended,
    role_from_names,
)
from admin_core.auth0.profile import ProfileEditor
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed, UserGone
from admin_core.metadata import MetadataEdit, ProfileEdit
from admin_core.roles import RoleInfo, last_admin_message, self_demotion_message
from admin_core.support import ResetLink

log = logging.getLogger(__name__)


@dataclass
class ActionReport:
    """What an action did: users it changed and users it could not, with the reason in plain words."""

    done: list[User] = field(default_factory=list)
    failed: list[tuple[User, str]] = field(default_factory=list)


def _target(user: User) -> Target:
    return Target(user_id=user.user_id, email=user.email, name=user.name)


UNEXPECTED_IN_AUDIT = "Failed with an unexpected error in the app; the server log has the details."
BLOCKED = "Your account is blocked in Auth0, so you have been signed out and nothing was changed."
GONE = "Your account no longer exists in Auth0, so you have been signed out and nothing was changed."
DEMOTED = "Nothing was changed: you are no longer an admin in Auth0."
UNCHECKED = "Nothing was changed: your admin role could not be checked with Auth0. {reason}"


def _require_admin(identity: Identity, action: str, users: Sequence[User]) -> None:
    """Every change passes here first: the session's role and expiry, then Auth0's word on the actor now
    (blocked flag and roles, cached per actor for STANDING_TTL_SECONDS): a role read at sign-in is hours
    old. A demoted admin is refused, a blocked (or deleted) one signed out; if Auth0 cannot say, nothing
    is changed (fail closed)."""
    if not identity.can_change:
        raise NotAllowed("Only admins can change users.")
    if time.time() >= identity.expires_at:
        rerun_if_session_ended()
        raise NotAllowed("Your session has ended. Sign in again.")
    try:
        standing = runtime.get_directory().actor_standing(identity.sub)
    except UserGone:
        _refuse(identity, action, users, GONE, sign_out=True)
    except AdminError as exc:
        raise NotAllowed(UNCHECKED.format(reason=exc.message)) from None
    if standing.blocked:
        _refuse(identity, action, users, BLOCKED, sign_out=True)
    role = role_from_names(list(standing.role_names), runtime.get_settings())
    if role is not Role.ADMIN:
        note_role(identity, role)
        _refuse(identity, action, users, DEMOTED)


def _refuse(
    identity: Identity, action: str, users: Sequence[User], message: str, *, sign_out: bool = False
) -> NoReturn:
    """Record the refused change (one row per user, state "error"), end the session if asked, raise."""
    try:
        audit = runtime.get_audit()
        for user in users:
            audit.record(actor=identity.actor, action=action, target=_target(user), ok=False, message=message)
    except AuditError as exc:
        log.warning("could not record the refused %s: %s", action, exc.message)
    if sign_out:
        end_session_of(identity, message)
        rerun_if_session_ended()
    raise NotAllowed(message)


def _run(identity: Identity, action: str, user: User, change) -> str | None:
    """Audit row first ("attempted"), then Auth0, then complete the row; returns an error message or None."""
    audit = runtime.get_audit()
    try:
        request_id = audit.begin(actor=identity.actor, action=action, target=_target(user))
    except AuditError as exc:
        return f"Not done: the audit log could not be written ({exc.message})."
    try:
        change()
    except AdminError as exc:
        _complete(request_id, ok=False, message=exc.message)
        return exc.message
    except Exception:  # keep the row honest even for the unexpected; the detail goes to the server log
        log.exception("%s of %s failed unexpectedly (audit entry %s)", action, user.user_id, request_id)
        _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
        raise
    _complete(request_id, ok=True)
    return None


def _complete(request_id: str, *, ok: bool, message: str | None = None) -> None:
    # The change already happened (or failed) in Auth0; a failing audit database must not hide that,
    # and the row it began stays "attempted" as the trace.
    try:
        runtime.get_audit().complete(request_id, ok=ok, message=message)
    except AuditError as exc:
        log.error("audit row %s could not be completed: %s", request_id, exc.message)


def delete_users(*, identity: Identity, users: Sequence[User]) -> ActionReport:
    """Delete each user (one audit row each); a bulk delete is several single deletes."""
    action = "bulk_delete" if len(users) > 1 else "delete"
    _require_admin(identity, action, users)
    directory = runtime.get_directory()
    report = ActionReport()
    try:
        for user in users:
            error = _run(
                identity,
                action,
                user,
                lambda u=user: directory.delete_user(actor_sub=identity.sub, user_id=u.user_id),
            )
            directory.forget_standing(user.user_id)  # a deleted admin's next change must ask Auth0
            runtime.forget_person(user.user_id)
            if error is None:
                report.done.append(user)
            else:
                report.failed.append((user, error))
    finally:
        runtime.clear_listing()
    return report


def set_blocked(*, identity: Identity, user: User, blocked: bool) -> ActionReport:
    action = "block" if blocked else "unblock"
    _require_admin(identity, action, [user])
    directory = runtime.get_directory()
    report = ActionReport()
    try:
        error = _run(
            identity,
            action,
            user,
            lambda: directory.set_blocked(actor_sub=identity.sub, user_id=user.user_id, blocked=blocked),
        )
        directory.forget_standing(user.user_id)  # a blocked admin's next change must ask Auth0
    finally:
        runtime.forget_person(user.user_id)  # their page and every listing ask Auth0 again
    if error is None:
        report.done.append(user)
    else:
        report.failed.append((user, error))
    return report


def block_users(*, identity: Identity, users: Sequence[User], blocked: bool) -> ActionReport:
    report = ActionReport()
    for user in users:
        one = set_blocked(identity=identity, user=user, blocked=blocked)
        report.done += one.done
        report.failed += one.failed
    return report


# --- the support desk's fixes: one person each, audited like a delete ----------------------------------


def _fix(identity: Identity, user: User, action: str, change) -> ActionReport:
    """Check the actor, run one audited change on one person, then make their page read Auth0 again."""
    _require_admin(identity, action, [user])
    report = ActionReport()
    try:
        error = _run(identity, action, user, change)
    finally:
        runtime.forget_person(user.user_id)
    if error is None:
        report.done.append(user)
    else:
        report.failed.append((user, error))
    return report


def unlock(*, identity: Identity, user: User) -> ActionReport:
    """Lift the person's brute-force locks, for every IP (`DELETE /api/v2/user-blocks/{id}`)."""
    desk = runtime.get_support_desk()
    return _fix(identity, user, "unlock", lambda: desk.unlock(user_id=user.user_id))


def send_password_reset(*, identity: Identity, user: User) -> ActionReport:
    """Auth0 emails the person a link to choose a new password (database-connection users only)."""
    desk = runtime.get_support_desk()
    return _fix(identity, user, "password_reset_email", lambda: desk.send_password_reset(user=user))


def create_reset_link(*, identity: Identity, user: User) -> ResetLink:
    """A one-time password-change link for the admin to hand over; audited, the link itself never is.

    Raises the AdminError (in words) when it could not be made."""
    desk = runtime.get_support_desk()
    made: dict[str, object] = {}

    def change() -> None:
        try:
            made["link"] = desk.create_reset_link(user=user)
        except AdminError as exc:
            made["error"] = exc
            raise

    report = _fix(identity, user, "password_reset_link", change)
    if report.failed:
        error = made.get("error")
        raise error if isinstance(error, AdminError) else AdminError(report.failed[0][1])
    return cast(ResetLink, made["link"])


def resend_verification(*, identity: Identity, user: User) -> ActionReport:
    """Auth0 emails the person a new verification link (`POST /api/v2/jobs/verification-email`)."""
    desk = runtime.get_support_desk()
    return _fix(identity, user, "verification_email", lambda: desk.resend_verification(user_id=user.user_id))


def mark_verified(*, identity: Identity, user: User) -> ActionReport:
    """The admin vouches for the address: `email_verified: true`."""
    desk = runtime.get_support_desk()
    return _fix(identity, user, "mark_verified", lambda: desk.mark_verified(user_id=user.user_id))


def reset_mfa(*, identity: Identity, user: User) -> ActionReport:
    """Remove every factor the person enrolled; they enroll again at their next sign-in. Not for oneself."""
    desk = runtime.get_support_desk()
    return _fix(
        identity, user, "reset_mfa", lambda: desk.reset_mfa(actor_sub=identity.sub, user_id=user.user_id)
    )


def forget_browsers(*, identity: Identity, user: User) -> ActionReport:
    """Every browser the person told to skip MFA asks for it again."""
    desk = runtime.get_support_desk()
    return _fix(identity, user, "forget_browsers", lambda: desk.forget_browsers(user_id=user.user_id))


def sign_out_everywhere(*, identity: Identity, user: User) -> ActionReport:
    """End the person's sessions and revoke their refresh tokens (sessions alone leave those working).

    Both are tried; when one fails the message says which part was done and which was not."""
    desk = runtime.get_support_desk()

    def change() -> None:
        problems = {}
        for part, call in (
            ("sessions", lambda: desk.end_sessions(user_id=user.user_id)),
            ("refresh_tokens", lambda: desk.revoke_refresh_tokens(user_id=user.user_id)),
        ):
            try:
                call()
            except AdminError as exc:
                problems[part] = exc.message
        if not problems:
            return
        if len(problems) == 2:
            raise AdminError(
                f"Neither part was done. Ending sessions: {problems['sessions']} Revoking refresh tokens: "
                f"{problems['refresh_tokens']}"
            )
        if "sessions" in problems:
            raise AdminError(
                "Refresh tokens were revoked, but the sessions could not be ended: " + problems["sessions"]
            )
        raise AdminError(
            "Sessions were ended, but the refresh tokens could not be revoked (apps can still get new "
            "tokens): " + problems["refresh_tokens"]
        )

    return _fix(identity, user, "sign_out_everywhere", change)


# --- roles: add to / remove from one person or the ticked rows, one audited change per person ----------


def _role_change(identity: Identity, user: User, action: str, note: str, change) -> ActionReport:
    """Like `_fix`, and the audit row says which roles (`note`, role names: no secret)."""
    _require_admin(identity, action, [user])
    report = ActionReport()
    try:
        try:
            request_id = runtime.get_audit().begin(actor=identity.actor, action=action, target=_target(user))
        except AuditError as exc:
            report.failed.append((user, f"Not done: the audit log could not be written ({exc.message})."))
            return report
        try:
            change()
        except AdminError as exc:
            _complete(request_id, ok=False, message=f"{note}: {exc.message}")
            report.failed.append((user, exc.message))
            return report
        except Exception:
            log.exception("%s of %s failed unexpectedly (audit entry %s)", action, user.user_id, request_id)
            _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
            raise
        _complete(request_id, ok=True, message=note)
        report.done.append(user)
        return report
    finally:
        runtime.get_directory().forget_standing(user.user_id)  # their next change asks Auth0 for roles
        runtime.forget_person(user.user_id)


def _role_note(verb: str, roles: Sequence[RoleInfo]) -> str:
    listed = ", ".join(r.name for r in roles)
    return f"{verb} role{'s' if len(roles) > 1 else ''} {listed}"


def add_roles(
    *, identity: Identity, user: User, roles: Sequence[RoleInfo], bulk: bool = False
) -> ActionReport:
    """`POST /api/v2/users/{id}/roles`: one request for every role given."""
    if not roles:
        raise NotAllowed("Pick at least one role to add.")
    desk = runtime.get_role_desk()
    ids = [r.role_id for r in roles]
    return _role_change(
        identity,
        user,
        "bulk_role_add" if bulk else "role_add",
        _role_note("Added", roles),
        lambda: desk.assign(user_id=user.user_id, role_ids=ids),
    )


def remove_role(*, identity: Identity, user: User, role: RoleInfo, bulk: bool = False) -> ActionReport:
    """`DELETE /api/v2/users/{id}/roles`. The admin role is never taken from the admin themselves, nor from
    its last holder (`GET /api/v2/roles/{id}/users`, asked just before): both said in words, audited."""
    desk = runtime.get_role_desk()
    admin_role = runtime.get_settings().admin_role

    def change() -> None:
        if role.name == admin_role:
            if user.user_id == identity.sub:
                raise NotAllowed(self_demotion_message(admin_role))
            if not desk.holders_besides(role.role_id, [user.user_id]):
                raise NotAllowed(last_admin_message(admin_role))
        desk.remove(user_id=user.user_id, role_ids=[role.role_id])

    return _role_change(
        identity, user, "bulk_role_remove" if bulk else "role_remove", _role_note("Removed", [role]), change
    )


def add_role_to_users(*, identity: Identity, users: Sequence[User], role: RoleInfo) -> ActionReport:
    """The ticked rows: one audited change per person; who could not get it is listed with the reason."""
    return _each(users, lambda u: add_roles(identity=identity, user=u, roles=[role], bulk=len(users) > 1))


def remove_role_from_users(*, identity: Identity, users: Sequence[User], role: RoleInfo) -> ActionReport:
    return _each(users, lambda u: remove_role(identity=identity, user=u, role=role, bulk=len(users) > 1))


def _each(users: Sequence[User], one) -> ActionReport:
    report = ActionReport()
    for user in users:
        done = one(user)
        report.done += done.done
        report.failed += done.failed
    return report


# --- metadata and profile (issue 16): one PATCH each, refused on a stale copy ---------------------------


def save_metadata(*, identity: Identity, user: User, edit: MetadataEdit) -> ActionReport:
    """Save one metadata edit (`user` is the copy the admin opened: a newer one in Auth0 refuses it)."""
    editor = ProfileEditor(runtime.get_directory())
    body = {edit.field: edit.body}
    return _fix(identity, user, "edit_metadata", lambda: editor.save(user=user, body=body))


def save_profile(*, identity: Identity, user: User, edit: ProfileEdit) -> ActionReport:
    """Save the profile fields an admin changed (same stale-copy check as the metadata)."""
    editor = ProfileEditor(runtime.get_directory())
    body = edit.body()
    return _fix(identity, user, "edit_profile", lambda: editor.save(user=user, body=body))
