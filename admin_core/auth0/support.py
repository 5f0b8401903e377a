"""The support desk's Auth0 calls: a person's logs, brute-force locks, MFA, sessions, and the fixes.

Management API calls go through `Directory.call_api` (one client, one token, errors translated as for
every other call); the password-reset email goes through the Authentication API
(`POST /dbconnections/change_password`) with auth0-python's `Database` client. Everything returned is a
record of `admin_core.support`; every failure leaves as an error of `admin_core.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from auth0.authentication import Database
from auth0.authentication.exceptions import Auth0Error

from admin_core.auth0.users import Directory
from admin_core.domain import User
from admin_core.errors import (
    AdminError,
    BadQuery,
    NotAllowed,
    PermissionDenied,
    RateLimited,
    SearchCapReached,
    Unreachable,
)
from admin_core.support import (
    LOGS_CAP,
    LOGS_PER_PAGE,
    AuthMethod,
    BruteForceBlock,
    LogEvent,
    LogPage,
    ResetLink,
    SessionRecord,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a reset link created here stays valid (Auth0's default is 5 days; a link sent by hand to a
# person who is waiting for it needs far less).
RESET_LINK_TTL_SECONDS = 24 * 3600
LOGS_CAP_MESSAGE = (
    f"Auth0 pages through the newest {LOGS_CAP} entries of a person's log and no further, so older "
    "entries cannot be listed here."
)
NO_PASSWORD = (
    "This person does not sign in with a password stored in Auth0 (no database connection), so there is "
    "no password to reset here."
)
# Auth0's database connections (username/password) are the identities whose provider is "auth0".
DATABASE_PROVIDER = "auth0"


def database_connection(user: User) -> str | None:
    """The name of the person's database connection (the one with a password Auth0 can reset), if any."""
    for identity in user.identities:
        if identity.get("provider") == DATABASE_PROVIDER and identity.get("connection"):
            return str(identity["connection"])
    return None


def _when(value: Any) -> datetime | None:
    """A datetime from what the SDK gives (an aware datetime, an ISO string, or Auth0's date object)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def log_event_from_sdk(model: Any) -> LogEvent:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    return LogEvent(
        log_id=str(raw.get("log_id") or raw.get("_id") or ""),
        type=str(raw.get("type") or ""),
        date=_when(getattr(model, "date", None)) or _when(raw.get("date")),
        description=_text(raw.get("description")),
        ip=_text(raw.get("ip")),
        client_id=_text(raw.get("client_id")),
        client_name=_text(raw.get("client_name")),
        connection=_text(raw.get("connection")),
        user_agent=_text(raw.get("user_agent")),
        raw=raw,
    )


def auth_method_from_sdk(model: Any) -> AuthMethod:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    return AuthMethod(
        method_id=str(raw.get("id") or ""),
        type=str(raw.get("type") or ""),
        name=_text(raw.get("name")),
        confirmed=raw.get("confirmed") if isinstance(raw.get("confirmed"), bool) else None,
        created_at=_when(getattr(model, "created_at", None)),
        last_auth_at=_when(getattr(model, "last_auth_at", None)),
    )


# Guardian enrollments name their factor by `auth_method` / `type`; these are the authentication-methods
# API's names for the same factors, so the page shows one vocabulary.
ENROLLMENT_TYPES = {
    "authenticator": "totp",
    "guardian": "push",
    "sms": "phone",
    "pn": "push",
}


def enrollment_from_sdk(model: Any) -> AuthMethod:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    kind = str(raw.get("auth_method") or raw.get("type") or "")
    return AuthMethod(
        method_id=str(raw.get("id") or ""),
        type=ENROLLMENT_TYPES.get(kind, kind),
        name=_text(raw.get("name") or raw.get("phone_number") or raw.get("identifier")),
        confirmed=raw.get("status") == "confirmed" if raw.get("status") else None,
        created_at=_when(getattr(model, "enrolled_at", None)),
        last_auth_at=_when(getattr(model, "last_auth", None)),
    )


def session_from_sdk(model: Any) -> SessionRecord:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    device = raw.get("device") or {}
    clients = tuple(
        str(c.get("client_name") or c.get("client_id"))
        for c in raw.get("clients") or ()
        if isinstance(c, dict) and (c.get("client_name") or c.get("client_id"))
    )
    ip = device.get("last_ip") or device.get("initial_ip")
    return SessionRecord(
        session_id=str(raw.get("id") or ""),
        created_at=_when(getattr(model, "created_at", None)),
        updated_at=_when(getattr(model, "updated_at", None)),
        last_interacted_at=_when(getattr(model, "last_interacted_at", None)),
        expires_at=_when(getattr(model, "expires_at", None)),
        clients=clients,
        user_agent=_text(device.get("last_user_agent") or device.get("initial_user_agent")),
        ip=_text(ip if isinstance(ip, str) else None),
    )


NOT_ON_PLAN = (
    "Auth0 offers a person's sessions on Enterprise plans only, and this tenant does not have them, so they "
    "cannot be listed or ended here."
)


class SessionsNotOnPlan(NotAllowed):
    """The tenant's plan has no sessions API (Auth0 answers 403 without naming a scope)."""


def _sessions_error(exc: AdminError) -> AdminError:
    # A 403 naming a scope is the grant; any other 403 on these endpoints is the plan.
    if isinstance(exc, PermissionDenied) and exc.scope is None:
        return SessionsNotOnPlan(NOT_ON_PLAN)
    return exc


def _auth_api_error(exc: BaseException) -> AdminError:
    """An Authentication API failure (auth0-python's `Auth0Error`, or no answer at all) in words."""
    if isinstance(exc, Auth0Error):
        status = int(getattr(exc, "status_code", 0) or 0)
        if status == 429:
            headers = exc.headers or {}
            return RateLimited.from_reset(
                headers.get("x-ratelimit-reset") if hasattr(headers, "get") else None
            )
        if status >= 500:
            return Unreachable(f"Auth0 is having trouble right now (HTTP {status}). Try again in a moment.")
        detail = str(exc.message or exc.error_code or "no detail")
        return Unreachable(f"Auth0 refused to send the password reset email (HTTP {status}): {detail}")
    log.warning("Authentication API request failed: %r", exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return Unreachable("Auth0 did not answer in time. Try again in a moment.")
    return Unreachable("Could not reach Auth0. Check your network and AUTH0_DOMAIN, then try again.")


class SupportDesk:
    """One tenant's support calls, on the Directory's Management API client and token."""

    def __init__(self, *, directory: Directory, auth_url: str, client_id: str, timeout: float):
        self._directory = directory
        parts = urlsplit(auth_url)
        # The Authentication API speaks to the sign-in application; http only for a local dev tenant.
        self._database = Database(parts.netloc, client_id, protocol=parts.scheme or "https", timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Any, *, directory: Directory) -> SupportDesk:
        return cls(
            directory=directory,
            auth_url=settings.auth0_url,
            client_id=settings.client_id,
            timeout=settings.timeout_seconds,
        )

    def _call(self, fn: Callable[[Any], T]) -> T:
        """One Management API call; a 400 is Auth0 refusing this request (not a search), said as such."""
        try:
            return self._directory.call_api(fn)
        except BadQuery as exc:
            detail = exc.message.split(": ", 1)[-1]
            raise NotAllowed(f"Auth0 refused the request: {detail}") from None

    def _confirmed(self, fn: Callable[[Any], Any], *, expected: int, what: str) -> None:
        """A change Auth0 confirms with an empty answer (`expected`: 204, or 202 when it is queued); any
        other success code is not a confirmation (e.g. a proxy's page), so it is not reported as done."""
        answer = self._call(fn)
        status = getattr(answer, "status_code", None)
        if status != expected:
            raise Unreachable(
                f"Auth0 answered {what} unexpectedly (HTTP {status}), so it is not confirmed. Reload the "
                "person's page to see whether it happened."
            )

    # reads

    def user_logs(self, user_id: str, *, page: int = 0, per_page: int = LOGS_PER_PAGE) -> LogPage:
        """`GET /api/v2/users/{id}/logs`, newest first, with Auth0's total (one request).

        Past LOGS_CAP entries Auth0 refuses to page (400); that is said here without asking."""
        if page < 0 or page * per_page >= LOGS_CAP:
            raise SearchCapReached(LOGS_CAP_MESSAGE)
        pager = self._call(
            lambda api: api.users.logs.list(
                user_id, page=page, per_page=per_page, sort="date:-1", include_totals=True
            )
        )
        events = tuple(log_event_from_sdk(item) for item in (pager.items or ()))
        total = getattr(pager.response, "total", None)
        total = int(total) if total is not None else page * per_page + len(events)
        return LogPage(events=events, page=page, per_page=per_page, total=total)

    def brute_force_blocks(self, user_id: str) -> tuple[BruteForceBlock, ...]:
        """`GET /api/v2/user-blocks/{id}`: each identifier and IP brute-force protection has locked."""
        answer = self._call(lambda api: api.user_blocks.list(user_id))
        return tuple(
            BruteForceBlock(identifier=b.identifier, ip=b.ip, connection=b.connection)
            for b in (answer.blocked_for or ())
        )

    def auth_methods(self, user_id: str) -> tuple[AuthMethod, ...]:
        """`GET /api/v2/users/{id}/authentication-methods` (first 100; people enroll a handful).

        A grant without `read:authentication_methods` still has `read:users`, which reads the same
        factors through the older Guardian API (`GET /api/v2/users/{id}/enrollments`); the section then
        shows them instead of a missing scope. If that fails too, the first refusal is what is said.
        """
        try:
            pager = self._call(
                lambda api: api.users.authentication_methods.list(
                    user_id, page=0, per_page=100, include_totals=True
                )
            )
        except PermissionDenied as refused:
            try:
                enrolled = self._call(lambda api: api.users.enrollments.get(user_id))
            except AdminError:
                raise refused from None
            return tuple(enrollment_from_sdk(item) for item in enrolled or ())
        return tuple(auth_method_from_sdk(item) for item in (pager.items or ()))

    def sessions(self, user_id: str) -> tuple[SessionRecord, ...]:
        """`GET /api/v2/users/{user_id}/sessions` (first 100). Raises SessionsNotOnPlan off Enterprise."""
        try:
            pager = self._call(lambda api: api.users.sessions.list(user_id, include_totals=True, take=100))
        except AdminError as exc:
            raise _sessions_error(exc) from None
        return tuple(session_from_sdk(item) for item in (pager.items or ()))

    # fixes

    def unlock(self, *, user_id: str) -> None:
        """`DELETE /api/v2/user-blocks/{id}`: lifts every brute-force lock of the person, for all IPs."""
        self._confirmed(
            lambda api: api.user_blocks.with_raw_response.delete(user_id), expected=204, what="the unlock"
        )

    def send_password_reset(self, *, user: User) -> None:
        """Authentication API `POST /dbconnections/change_password`: Auth0 emails the person a reset link."""
        connection = database_connection(user)
        if connection is None:
            raise NotAllowed(NO_PASSWORD)
        if not user.email:
            raise NotAllowed("This person has no email address, so Auth0 cannot send a reset email.")
        try:
            answer = self._database.change_password(email=user.email, connection=connection)
        except Exception as exc:
            raise _auth_api_error(exc) from None
        # Auth0 answers in plain text ("We've just sent you an email to reset your password."); a JSON or
        # empty answer on a success code is something else's, so the email is not confirmed.
        if not isinstance(answer, str) or not answer.strip() or answer.lstrip()[:1] in "{[":
            raise Unreachable(
                "Auth0 answered the password reset request unexpectedly, so the email is not confirmed. "
                "Try again in a moment."
            )

    def create_reset_link(self, *, user: User, ttl_seconds: int = RESET_LINK_TTL_SECONDS) -> ResetLink:
        """`POST /api/v2/tickets/password-change`: a one-time link (a secret) and when it expires."""
        if database_connection(user) is None:
            raise NotAllowed(NO_PASSWORD)
        user_id = user.user_id
        started = datetime.now(UTC)
        answer = self._call(lambda api: api.tickets.change_password(user_id=user_id, ttl_sec=ttl_seconds))
        if not getattr(answer, "ticket", None):
            raise Unreachable("Auth0 answered without a reset link. Try again in a moment.")
        return ResetLink(url=str(answer.ticket), expires_at=started + timedelta(seconds=ttl_seconds))

    def resend_verification(self, *, user_id: str) -> None:
        """`POST /api/v2/jobs/verification-email`: Auth0 emails the person a new verification link."""
        self._call(lambda api: api.jobs.verification_email.create(user_id=user_id))

    def mark_verified(self, *, user_id: str) -> User:
        return self._directory.set_email_verified(user_id=user_id)

    def reset_mfa(self, *, actor_sub: str, user_id: str) -> None:
        """`DELETE /api/v2/users/{id}/authenticators`: every enrolled factor; they enroll again at sign-in."""
        if not actor_sub:
            raise NotAllowed("Only a signed-in admin can change users.")
        if actor_sub == user_id:
            raise NotAllowed("You cannot reset your own MFA here. Ask another admin.")
        self._confirmed(
            lambda api: api.users.authenticators.with_raw_response.delete_all(user_id),
            expected=204,
            what="the MFA reset",
        )

    def forget_browsers(self, *, user_id: str) -> None:
        """`POST .../multifactor/actions/invalidate-remember-browser`: MFA is asked again on every browser."""
        self._confirmed(
            lambda api: api.users.multifactor.with_raw_response.invalidate_remember_browser(user_id),
            expected=204,
            what="forgetting the browsers",
        )

    def end_sessions(self, *, user_id: str) -> None:
        """`DELETE /api/v2/users/{user_id}/sessions` (Enterprise plans)."""
        try:
            self._confirmed(
                lambda api: api.users.sessions.with_raw_response.delete(user_id),
                expected=202,
                what="ending the sessions",
            )
        except AdminError as exc:
            raise _sessions_error(exc) from None

    def revoke_refresh_tokens(self, *, user_id: str) -> None:
        """`DELETE /api/v2/users/{user_id}/refresh-tokens`: ending sessions alone leaves these working."""
        try:
            self._confirmed(
                lambda api: api.users.refresh_token.with_raw_response.delete(user_id),
                expected=202,
                what="revoking the refresh tokens",
            )
        except AdminError as exc:
            raise _sessions_error(exc) from None
