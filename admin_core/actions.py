"""Changes an admin makes, each recorded in the audit log before Auth0 is called and completed after."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from admin_core import runtime
from admin_core.audit import AuditError, Target
from admin_core.auth import Identity, rerun_if_session_ended
from admin_core.directory import User
from admin_core.errors import AdminError, NotAllowed

log = logging.getLogger(__name__)


@dataclass
class ActionReport:
    """What an action did: users it changed and users it could not, with the reason in plain words."""

    done: list[User] = field(default_factory=list)
    failed: list[tuple[User, str]] = field(default_factory=list)


def _target(user: User) -> Target:
    return Target(user_id=user.user_id, email=user.email, name=user.name)


def _require_admin(identity: Identity) -> None:
    if not identity.can_change:
        raise NotAllowed("Only admins can change users.")
    if time.time() >= identity.expires_at:
        rerun_if_session_ended()
        raise NotAllowed("Your session has ended. Sign in again.")


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
    except Exception as exc:  # keep the row honest even for the unexpected
        _complete(request_id, ok=False, message=f"unexpected error: {type(exc).__name__}")
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
    _require_admin(identity)
    directory = runtime.get_directory()
    report = ActionReport()
    action = "bulk_delete" if len(users) > 1 else "delete"
    try:
        for user in users:
            error = _run(
                identity,
                action,
                user,
                lambda u=user: directory.delete_user(actor_sub=identity.sub, user_id=u.user_id),
            )
            if error is None:
                report.done.append(user)
            else:
                report.failed.append((user, error))
    finally:
        runtime.clear_listing()
    return report


def set_blocked(*, identity: Identity, user: User, blocked: bool) -> ActionReport:
    _require_admin(identity)
    directory = runtime.get_directory()
    report = ActionReport()
    try:
        error = _run(
            identity,
            "block" if blocked else "unblock",
            user,
            lambda: directory.set_blocked(actor_sub=identity.sub, user_id=user.user_id, blocked=blocked),
        )
    finally:
        runtime.clear_listing()
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
