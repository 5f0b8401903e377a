"""New users and invitations, each audited like a delete: the actor checked with Auth0, an "attempted" row
before the call, the outcome after (with the new user_id; never a password or a link).

A password is checked against the connection's policy before it is sent; an invited person is created
with a random password nobody sees and gets a password-change ticket (`mark_email_as_verified`, back to
APP_URL): a link the admin hands over (shown once) or Auth0's reset email.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from admin_core import actions, runtime
from admin_core.audit import AuditError, Target
from admin_core.auth import Identity
from admin_core.auth0.creation import AlreadyExists, Creator
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed
from admin_core.newusers import BulkReport, BulkRow, DatabaseConnection, Invitation, email_problem
from admin_core.passwords import problems, random_password

log = logging.getLogger(__name__)

CONNECTIONS_TTL_SECONDS = 60.0
_connections: dict[str, tuple[float, tuple[DatabaseConnection, ...]]] = {}
_connections_lock = threading.Lock()

LINK = "link"
EMAIL = "email"


def creator() -> Creator:
    return Creator(directory=runtime.get_directory())


def database_connections() -> tuple[DatabaseConnection, ...]:
    """The tenant's database connections, asked once a minute (process-wide); failures never kept."""
    with _connections_lock:
        cached = _connections.get("all")
        if cached is not None and 0 <= time.monotonic() - cached[0] < CONNECTIONS_TTL_SECONDS:
            return cached[1]
    found = creator().database_connections()
    with _connections_lock:
        _connections["all"] = (time.monotonic(), found)
    return found


def forget_connections() -> None:
    with _connections_lock:
        _connections.clear()


def _connection(name: str) -> DatabaseConnection:
    for connection in database_connections():
        if connection.name == name:
            return connection
    raise NotAllowed(f"{name} is not a database connection of this tenant, so users cannot be created in it.")


def _placeholder(email: str, name: str | None) -> User:
    return User(user_id="", email=email, name=name)


def _begin(identity: Identity, action: str, email: str, name: str | None) -> str:
    try:
        return runtime.get_audit().begin(
            actor=identity.actor, action=action, target=Target(user_id="", email=email, name=name)
        )
    except AuditError as exc:
        raise NotAllowed(f"Not done: the audit log could not be written ({exc.message}).") from None


def _checked(email: str, name: str | None) -> tuple[str, str | None]:
    email = (email or "").strip().lower()
    problem = email_problem(email)
    if problem:
        raise NotAllowed(problem)
    return email, (name or "").strip() or None


def create_user(*, identity: Identity, connection: str, email: str, name: str | None, password: str) -> User:
    """A user with the password the admin chose (checked against the connection's policy first).

    Raises the AdminError in words (AlreadyExists carries the existing user_id)."""
    email, name = _checked(email, name)
    actions._require_admin(identity, "create_user", [_placeholder(email, name)])
    policy = _connection(connection).policy
    if policy is not None:
        unmet = problems(password, policy)
        if unmet:
            raise NotAllowed("The password does not meet the connection's policy: " + " ".join(unmet))
    request_id = _begin(identity, "create_user", email, name)
    try:
        user = creator().create_user(
            connection=connection, email=email, name=name, password=password, verify_email=True
        )
    except AdminError as exc:
        actions._complete(request_id, ok=False, message=exc.message)
        raise
    except Exception:
        log.exception("create_user failed unexpectedly (audit entry %s)", request_id)
        actions._complete(request_id, ok=False, message=actions.UNEXPECTED_IN_AUDIT)
        raise
    actions._complete(request_id, ok=True, message=f"Created {user.user_id} on {connection}.")
    runtime.clear_listing()
    return user


def _invite_one(
    identity: Identity, action: str, connection: DatabaseConnection, email: str, name: str | None, how: str
) -> Invitation:
    request_id = _begin(identity, action, email, name)
    made = creator()
    try:
        user = made.create_user(
            connection=connection.name,
            email=email,
            name=name,
            password=random_password(connection.policy),
            verify_email=False,  # the ticket marks the address verified; one message is enough
        )
    except AdminError as exc:
        actions._complete(request_id, ok=False, message=exc.message)
        raise
    except Exception:
        log.exception("%s failed unexpectedly (audit entry %s)", action, request_id)
        actions._complete(request_id, ok=False, message=actions.UNEXPECTED_IN_AUDIT)
        raise
    runtime.clear_listing()
    try:
        if how == EMAIL:
            runtime.get_support_desk().send_password_reset(user=user)
            invitation = Invitation(user=user, emailed=True)
        else:
            invitation = made.invitation_link(user=user, result_url=runtime.get_settings().app_url or None)
    except AdminError as exc:
        message = (
            f"{user.user_id} was created, but the invitation could not be made: {exc.message} Open their "
            "page to send a password reset email or make a reset link."
        )
        actions._complete(request_id, ok=False, message=message)
        raise AdminError(message) from None
    what = "reset email sent" if invitation.emailed else "invitation link made"
    actions._complete(request_id, ok=True, message=f"Created {user.user_id} on {connection.name}; {what}.")
    return invitation


def invite_user(
    *, identity: Identity, connection: str, email: str, name: str | None, how: str = LINK
) -> Invitation:
    """Create the person with a random password nobody sees, then a link (shown once) or Auth0's email."""
    email, name = _checked(email, name)
    actions._require_admin(identity, "invite_user", [_placeholder(email, name)])
    return _invite_one(identity, "invite_user", _connection(connection), email, name, how)


def bulk_invite(
    *, identity: Identity, connection: str, rows: Sequence[BulkRow], how: str = LINK
) -> BulkReport:
    """Invite each good row (one audited change each); people Auth0 already has are skipped and listed."""
    good = [row for row in rows if row.problem is None]
    actions._require_admin(identity, "bulk_invite", [_placeholder(r.email, r.name) for r in good])
    target = _connection(connection)
    report = BulkReport()
    for row in good:
        try:
            report.invited.append(
                (row, _invite_one(identity, "bulk_invite", target, row.email, row.name, how))
            )
        except AlreadyExists as exc:
            report.skipped.append((row, exc.user_id))
        except AdminError as exc:
            report.failed.append((row, exc.message))
    return report
