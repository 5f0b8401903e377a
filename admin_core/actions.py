"""Changes an admin makes, each recorded in the audit log before Auth0 is called and completed after."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, cast

from admin_core import claims, deleted, runtime, shutdown
from admin_core.audit import AuditError, Target
from admin_core.auth import (
    Identity,
    Role,
    end_session_of,
    note_role,
    rerun_if_session_ended,
    role_from_names,
)
from admin_core.auth0.creation import AlreadyExists
from admin_core.auth0.profile import ProfileEditor
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed, UserGone
from admin_core.metadata import MetadataEdit, ProfileEdit, StaleCopy
from admin_core.newusers import BulkReport, BulkRow, DatabaseConnection, Invitation, email_problem
from admin_core.passwords import problems, random_password
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


def _who(user: User) -> str:
    return user.email or user.name or user.user_id


def _run(
    identity: Identity,
    action: str,
    user: User,
    change,
    *,
    note: str | None = None,
    request_id: str | None = None,
    in_job: bool = False,
) -> str | None:
    """Claim the person (one change at a time per person, across every instance: admin_core.claims), audit
    row first ("attempted"), then Auth0, then complete the row and end the claim; returns an error message
    or None. `note` (no secret) is the row's message, before the error when there is one. `request_id` (a
    bulk job's person) makes the row findable, and unique: never twice for that person. While the process
    shuts down (admin_core.shutdown) nothing starts: the refusal is recorded as not done, except for a
    bulk job's person (`in_job`): Draining is raised to the job runner, which leaves the person untried
    (no audit row) for the instance that takes the job over."""
    audit = runtime.get_audit()
    request_id = request_id or uuid.uuid4().hex
    try:
        with shutdown.DRAIN.change():
            try:
                claims.take(
                    audit,
                    subject=user.user_id,
                    request_id=request_id,
                    action=action,
                    actor=identity.email or identity.sub,
                    seconds=runtime.get_settings().change_claim_seconds,
                    who=_who(user),
                )
            except claims.Claimed as exc:
                _record_refusal(identity, action, user, exc.message, request_id)
                return exc.message
            except AuditError as exc:
                return f"Not done: the audit log could not be written ({exc.message})."
            done = False
            try:
                done, error = _audited(identity, action, user, change, request_id, note)
                return error
            finally:
                _release(user.user_id, request_id, deleted=done and action in ("delete", "bulk_delete"))
    except shutdown.Draining as exc:
        if in_job:
            raise
        _record_refusal(identity, action, user, exc.message, request_id)
        return exc.message


def _audited(
    identity: Identity, action: str, user: User, change, request_id: str, note: str | None
) -> tuple[bool, str | None]:
    audit = runtime.get_audit()
    try:
        audit.begin(actor=identity.actor, action=action, target=_target(user), request_id=request_id)
    except AuditError as exc:
        return False, f"Not done: the audit log could not be written ({exc.message})."
    try:
        change()
    except AdminError as exc:
        _complete(request_id, ok=False, message=f"{note}: {exc.message}" if note else exc.message)
        return False, exc.message
    except Exception:  # keep the row honest even for the unexpected; the detail goes to the server log
        log.exception("%s of %s failed unexpectedly (audit entry %s)", action, user.user_id, request_id)
        _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
        raise
    _complete(request_id, ok=True, message=note)
    return True, None


def _record_refusal(identity: Identity, action: str, user: User, message: str, request_id: str) -> None:
    """A change that was not sent (someone else's claim, a shutdown): one row, state "error", under the
    change's own request id (a bulk job finds its person's outcome by it)."""
    audit = runtime.get_audit()
    try:
        audit.begin(actor=identity.actor, action=action, target=_target(user), request_id=request_id)
        audit.complete(request_id, ok=False, message=message)
    except AuditError as exc:
        log.warning("could not record the refused %s: %s", action, exc.message)


def _release(user_id: str, request_id: str, *, deleted: bool) -> None:
    # A claim that cannot be released ends at its expiry (CHANGE_CLAIM_SECONDS): logged, not shown.
    try:
        claims.release(runtime.get_audit(), subject=user_id, request_id=request_id, deleted=deleted)
    except AuditError as exc:
        log.error("the claim of audit row %s could not be released: %s", request_id, exc.message)


def _complete(request_id: str, *, ok: bool, message: str | None = None) -> None:
    # The change already happened (or failed) in Auth0; a failing audit database must not hide that,
    # and the row it began stays "attempted" as the trace.
    try:
        runtime.get_audit().complete(request_id, ok=ok, message=message)
    except AuditError as exc:
        log.error("audit row %s could not be completed: %s", request_id, exc.message)


def _held(action):
    """A run of changes (one person or many): a shutdown waits until it has recorded what happened to each
    person, done or not started (admin_core.shutdown); the changes themselves are counted in `_run`."""

    @functools.wraps(action)
    def held(*args, **kwargs):
        with shutdown.DRAIN.hold():
            return action(*args, **kwargs)

    return held


@_held
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
                lambda u=user: _keep_then_delete(identity, u),  # undo a delete: the profile is kept first
            )
            directory.forget_standing(user.user_id)  # a deleted admin's next change must ask Auth0
            runtime.forget_person(user.user_id, deleted=error is None)
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


@_held
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


# --- undo a delete: the profile kept before a delete, and the re-creation from it ---------------------


def _keep_then_delete(identity: Identity, user: User) -> None:
    """Keep the person's profile and roles (unless DELETED_PROFILE_DAYS is 0), then delete them. When the
    copy cannot be made the person is not deleted; when the delete is refused the copy is dropped again."""
    directory = runtime.get_directory()
    days = runtime.get_settings().deleted_profile_days
    kept_id = None
    if days > 0 and identity.sub and identity.sub != user.user_id:  # the directory refuses self-deletes
        kept_id = _keep(identity, user, days)
    try:
        directory.delete_user(actor_sub=identity.sub, user_id=user.user_id)
    except (NotAllowed, UserGone):  # not deleted by this request: this copy is not the one to undo
        if kept_id is not None:
            _forget_kept(kept_id)
        raise


def _keep(identity: Identity, user: User, days: int) -> int | None:
    try:
        fresh = runtime.get_directory().get_user(user.user_id)
        roles = runtime.get_recreator().roles_of(user.user_id)
    except UserGone:
        return None  # nothing left to keep; the delete says it is gone
    except AdminError as exc:
        raise AdminError(
            f"Not deleted: the profile could not be read to keep it for an undo. {exc.message}"
        ) from None
    try:
        return deleted.keep(
            runtime.get_audit(), user=fresh, roles=roles, deleted_by=identity.email or identity.sub, days=days
        )
    except AuditError as exc:
        raise AdminError(f"Not deleted: the profile could not be kept for an undo. {exc.message}") from None


def _forget_kept(kept_id: int) -> None:
    try:
        runtime.get_audit().forget_kept(kept_id)
    except AuditError as exc:
        log.warning("kept profile %s could not be dropped after a refused delete: %s", kept_id, exc.message)


@dataclass
class Recreated:
    """What a re-creation did: the new user_id (None when nobody was created) and what went wrong."""

    new_user_id: str | None = None
    error: str | None = None


GONE_KEPT = "That deleted person's profile is no longer kept (purged, or re-created by another admin)."


def recreate_deleted(*, identity: Identity, kept_id: int) -> Recreated:
    """A new user from a kept profile: same email, name, metadata and roles on the same database
    connection, then Auth0's password-reset email. The new user_id is recorded next to the old one and in
    the audit row (attempted first, the outcome after, naming both ids)."""
    store = runtime.get_audit()
    try:
        kept = deleted.kept_person(store, kept_id)
    except AuditError as exc:
        return Recreated(error=exc.message)
    if kept is None:
        return Recreated(error=GONE_KEPT)
    old = User(user_id=kept.user_id, email=kept.email, name=kept.name)
    _require_admin(identity, "recreate", [old])
    try:
        body = deleted.create_body(kept)
    except ValueError as exc:
        return Recreated(error=str(exc))
    try:
        request_id = store.begin(actor=identity.actor, action="recreate", target=_target(old))
    except AuditError as exc:
        return Recreated(error=f"Not done: the audit log could not be written ({exc.message}).")
    recreator = runtime.get_recreator()
    try:
        new = recreator.create_user(body)
    except AdminError as exc:
        _complete(request_id, ok=False, message=exc.message)
        return Recreated(error=exc.message)
    except Exception:
        log.exception("re-creating %s failed unexpectedly (audit entry %s)", kept.user_id, request_id)
        _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
        raise
    problems = []
    try:
        store.mark_recreated(kept_id, new_user_id=new.user_id)
    except AuditError as exc:
        problems.append(f"the new user_id could not be noted next to the old one ({exc.message})")
    try:
        recreator.assign_roles(user_id=new.user_id, role_ids=[r.role_id for r in kept.roles if r.role_id])
    except AdminError as exc:
        problems.append(f"the roles could not be given back ({exc.message})")
    try:
        recreator.send_password_reset(user=new)
    except AdminError as exc:
        problems.append(f"the password-reset email was not sent ({exc.message})")
    runtime.get_directory().forget_standing(new.user_id)
    runtime.forget_person(new.user_id)
    done = f"Re-created {kept.who} (was {kept.user_id}) as {new.user_id}"
    if problems:
        message = f"{done}, but " + "; ".join(problems) + "."
        _complete(request_id, ok=False, message=message)
        return Recreated(new_user_id=new.user_id, error=message)
    roles = ", ".join(r.name for r in kept.roles) or "no roles"
    _complete(request_id, ok=True, message=f"{done}, with {roles}; a password-reset email was sent.")
    return Recreated(new_user_id=new.user_id)


def purge_deleted_profiles(*, identity: Identity) -> int:
    """Remove every kept profile for good now (an admin's choice on the Audit page); audited."""
    _require_admin(identity, "purge_deleted", [])
    store = runtime.get_audit()
    request_id = store.begin(actor=identity.actor, action="purge_deleted", target=None)
    try:
        removed = store.purge_deleted(older_than=None)
    except AuditError as exc:
        _complete(request_id, ok=False, message=exc.message)
        raise
    _complete(request_id, ok=True, message=f"{removed} kept profile(s) of deleted people removed for good.")
    return removed


# --- roles: add to / remove from one person or the ticked rows, one audited change per person ----------


def _role_change(identity: Identity, user: User, action: str, note: str, change) -> ActionReport:
    """Like `_fix`, and the audit row says which roles (`note`, role names: no secret)."""
    _require_admin(identity, action, [user])
    return _role_change_checked(identity, user, action, note, change)


def _role_change_checked(
    identity: Identity,
    user: User,
    action: str,
    note: str,
    change,
    *,
    request_id: str | None = None,
    in_job: bool = False,
) -> ActionReport:
    report = ActionReport()
    try:
        error = _run(identity, action, user, change, note=note, request_id=request_id, in_job=in_job)
    finally:
        runtime.get_directory().forget_standing(user.user_id)  # their next change asks Auth0 for roles
        runtime.forget_person(user.user_id)
    if error is None:
        report.done.append(user)
    else:
        report.failed.append((user, error))
    return report


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
    return _role_change(
        identity,
        user,
        "bulk_role_remove" if bulk else "role_remove",
        _role_note("Removed", [role]),
        _role_removal(identity, user, role),
    )


def _role_removal(identity: Identity, user: User, role: RoleInfo):
    desk = runtime.get_role_desk()
    admin_role = runtime.get_settings().admin_role

    def change() -> None:
        if role.name == admin_role:
            if user.user_id == identity.sub:
                raise NotAllowed(self_demotion_message(admin_role))
            if not desk.holders_besides(role.role_id, [user.user_id]):
                raise NotAllowed(last_admin_message(admin_role))
        desk.remove(user_id=user.user_id, role_ids=[role.role_id])

    return change


def add_role_to_users(*, identity: Identity, users: Sequence[User], role: RoleInfo) -> ActionReport:
    """The ticked rows: one audited change per person; who could not get it is listed with the reason."""
    return _each(users, lambda u: add_roles(identity=identity, user=u, roles=[role], bulk=len(users) > 1))


def remove_role_from_users(*, identity: Identity, users: Sequence[User], role: RoleInfo) -> ActionReport:
    return _each(users, lambda u: remove_role(identity=identity, user=u, role=role, bulk=len(users) > 1))


@_held
def _each(users: Sequence[User], one) -> ActionReport:
    report = ActionReport()
    for user in users:
        done = one(user)
        report.done += done.done
        report.failed += done.failed
    return report


# --- new users and invitations: each audited like a delete (the new user_id in the row, never a password or
# a link). A password is checked against the connection's policy before it is sent; an invited person is
# created with a random password nobody sees and gets a password-change ticket (mark_email_as_verified,
# back to APP_URL): a link the admin hands over (shown once) or Auth0's reset email.

LINK = "link"
EMAIL = "email"


def _connection(name: str) -> DatabaseConnection:
    for connection in runtime.database_connections():
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


@contextlib.contextmanager
def _creating(identity: Identity, action: str, email: str, name: str | None) -> Iterator[str]:
    """Around a new person's creation (and its invitation), yielding its audit row's request id: counted
    as a running change, so a SIGTERM waits for it (at most SHUTDOWN_DRAIN_SECONDS) instead of cutting it
    between Auth0's answer and the row's outcome. Once the shutdown has begun nothing starts: the refusal
    is recorded as not done and raised in words."""
    try:
        with shutdown.DRAIN.change():
            yield _begin(identity, action, email, name)
    except shutdown.Draining:
        _record_refusal(identity, action, _placeholder(email, name), shutdown.NOT_STARTED, uuid.uuid4().hex)
        raise NotAllowed(shutdown.NOT_STARTED) from None


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
    _require_admin(identity, "create_user", [_placeholder(email, name)])
    policy = _connection(connection).policy
    if policy is not None:
        unmet = problems(password, policy)
        if unmet:
            raise NotAllowed("The password does not meet the connection's policy: " + " ".join(unmet))
    with _creating(identity, "create_user", email, name) as request_id:
        try:
            user = runtime.get_creator().create_user(
                connection=connection, email=email, name=name, password=password, verify_email=True
            )
        except AdminError as exc:
            _complete(request_id, ok=False, message=exc.message)
            raise
        except Exception:
            log.exception("create_user failed unexpectedly (audit entry %s)", request_id)
            _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
            raise
        _complete(request_id, ok=True, message=f"Created {user.user_id} on {connection}.")
    runtime.clear_listing()
    return user


def _invite_one(
    identity: Identity, action: str, connection: DatabaseConnection, email: str, name: str | None, how: str
) -> Invitation:
    with _creating(identity, action, email, name) as request_id:
        made = runtime.get_creator()
        try:
            user = made.create_user(
                connection=connection.name,
                email=email,
                name=name,
                password=random_password(connection.policy),
                verify_email=False,  # the ticket marks the address verified; one message is enough
            )
        except AdminError as exc:
            _complete(request_id, ok=False, message=exc.message)
            raise
        except Exception:
            log.exception("%s failed unexpectedly (audit entry %s)", action, request_id)
            _complete(request_id, ok=False, message=UNEXPECTED_IN_AUDIT)
            raise
        runtime.clear_listing()
        try:
            if how == EMAIL:
                runtime.get_support_desk().send_password_reset(user=user)
                invitation = Invitation(user=user, emailed=True)
            else:
                invitation = made.invitation_link(
                    user=user, result_url=runtime.get_settings().app_url or None
                )
        except AdminError as exc:
            message = (
                f"{user.user_id} was created, but the invitation could not be made: {exc.message} Open their "
                "page to send a password reset email or make a reset link."
            )
            _complete(request_id, ok=False, message=message)
            raise AdminError(message) from None
        what = "reset email sent" if invitation.emailed else "invitation link made"
        _complete(request_id, ok=True, message=f"Created {user.user_id} on {connection.name}; {what}.")
    return invitation


def invite_user(
    *, identity: Identity, connection: str, email: str, name: str | None, how: str = LINK
) -> Invitation:
    """Create the person with a random password nobody sees, then a link (shown once) or Auth0's email."""
    email, name = _checked(email, name)
    _require_admin(identity, "invite_user", [_placeholder(email, name)])
    return _invite_one(identity, "invite_user", _connection(connection), email, name, how)


@_held
def bulk_invite(
    *, identity: Identity, connection: str, rows: Sequence[BulkRow], how: str = LINK
) -> BulkReport:
    """Invite each good row (one audited change each); people Auth0 already has are skipped and listed."""
    good = [row for row in rows if row.problem is None]
    _require_admin(identity, "bulk_invite", [_placeholder(r.email, r.name) for r in good])
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


# --- metadata and profile (issue 16): one PATCH each, refused on a stale copy ---------------------------


def save_metadata(*, identity: Identity, user: User, edit: MetadataEdit) -> ActionReport:
    """Save one metadata edit (`user` is the copy the admin opened: a newer one in Auth0 refuses it)."""
    return _save(identity, user, "edit_metadata", {edit.field: edit.body})


def save_profile(*, identity: Identity, user: User, edit: ProfileEdit) -> ActionReport:
    """Save the profile fields an admin changed (same stale-copy check as the metadata)."""
    return _save(identity, user, "edit_profile", edit.body())


def _save(identity: Identity, user: User, action: str, body: dict) -> ActionReport:
    """One audited PATCH after the stale check's read of the person: two requests, and no refetch after.

    Both answers are the person as Auth0 has them (the PATCH's on success, the read's when the copy was
    stale), so that answer becomes their page's user; the other sections of their page stay cached. Only
    when neither came back (Auth0 failed) is the whole page read again."""
    _require_admin(identity, action, [user])
    editor = ProfileEditor(runtime.get_directory())
    answered: list[User] = []

    def change() -> None:
        try:
            answered.append(editor.save(user=user, body=body))
        except StaleCopy as exc:
            if isinstance(exc.current, User):
                answered.append(exc.current)
            raise

    report = ActionReport()
    try:
        error = _run(identity, action, user, change)
    finally:
        if answered:
            runtime.keep_person_user(answered[0])
        else:
            runtime.forget_person(user.user_id)
    if error is None:
        report.done.append(user)
    else:
        report.failed.append((user, error))
    return report


# --- bulk jobs (issue 19): the actor checked when a job starts or resumes, then one audited change per person


JOB_AUDIT_ACTIONS = {
    "delete": "bulk_delete",
    "block": "block",
    "unblock": "unblock",
    "role_add": "bulk_role_add",
    "role_remove": "bulk_role_remove",
}


def check_job(*, identity: Identity, action: str, users: Sequence[User]) -> None:
    """A bulk job starts (or resumes) only for an admin Auth0 still calls one, as every change."""
    _require_admin(identity, JOB_AUDIT_ACTIONS[action], users)


def job_item(
    *, identity: Identity, action: str, user: User, request_id: str, role: RoleInfo | None = None
) -> str | None:
    """One person of a bulk job (admin_core.jobrunner, on its own thread): the usual audited change, an
    "attempted" row first (under `request_id`, the job's name for this person: admin_core.jobs reads the
    person's outcome from it) and the outcome after. Returns why it failed, in words, or None when done.
    The actor was checked when the job started or resumed (`check_job`): no session is reachable here.
    Raises shutdown.Draining, with nothing recorded, when this process has begun shutting down: the
    person is left untried for whoever takes the job over (admin_core.jobrunner)."""
    directory = runtime.get_directory()
    audit_action = JOB_AUDIT_ACTIONS[action]
    try:
        if action == "delete":
            return _run(
                identity,
                audit_action,
                user,
                lambda: _keep_then_delete(identity, user),
                request_id=request_id,
                in_job=True,
            )
        if action in ("block", "unblock"):
            blocked = action == "block"
            return _run(
                identity,
                audit_action,
                user,
                lambda: directory.set_blocked(actor_sub=identity.sub, user_id=user.user_id, blocked=blocked),
                request_id=request_id,
                in_job=True,
            )
        if role is None:
            raise ValueError("a role change needs its role")
        if action == "role_add":
            desk = runtime.get_role_desk()
            report = _role_change_checked(
                identity,
                user,
                audit_action,
                _role_note("Added", [role]),
                lambda: desk.assign(user_id=user.user_id, role_ids=[role.role_id]),
                request_id=request_id,
                in_job=True,
            )
        else:
            report = _role_change_checked(
                identity,
                user,
                audit_action,
                _role_note("Removed", [role]),
                _role_removal(identity, user, role),
                request_id=request_id,
                in_job=True,
            )
        return report.failed[0][1] if report.failed else None
    finally:
        directory.forget_standing(user.user_id)  # a changed admin's next change must ask Auth0
        runtime.forget_person(user.user_id)
