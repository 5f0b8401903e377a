"""Creating users through the Management API: database connections, `POST /api/v2/users`, invitation tickets.

Calls go through `Directory.call_api` (one client and token; errors translated as for every other call).
Auth0's refusals of a new user (a too-weak password, a duplicate email) leave as `PasswordRefused` and
`AlreadyExists`, carrying Auth0's words; everything else as an error of `admin_core.errors`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from auth0.management.core.api_error import ApiError

from admin_core.auth0.errors import _body
from admin_core.auth0.users import Directory, user_from_sdk
from admin_core.domain import User
from admin_core.errors import AdminError, NotAllowed, Unreachable
from admin_core.newusers import DatabaseConnection, Invitation
from admin_core.passwords import PasswordPolicy

log = logging.getLogger(__name__)

# How long an invitation link stays valid (Auth0's default for a ticket is 5 days).
INVITATION_TTL_SECONDS = 7 * 24 * 3600
CONNECTIONS_MAX = 500  # checkpoint pages of 50; a tenant has a handful of database connections
# A create is never retried by the SDK: a retry after a lost answer would meet our own new user as a 409.
NO_RETRY: Any = {"max_retries": 0}


class AlreadyExists(NotAllowed):
    """Auth0 answered 409: a user with this email exists; `user_id` is theirs when it could be looked up."""

    def __init__(self, message: str, *, user_id: str | None = None):
        super().__init__(message)
        self.user_id = user_id


class PasswordRefused(NotAllowed):
    """Auth0 refused the password (400 PasswordStrengthError and its kin), in Auth0's words."""


def connection_from_sdk(model: Any) -> DatabaseConnection:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    options = raw.get("options")
    return DatabaseConnection(
        name=str(raw.get("name") or ""),
        connection_id=raw.get("id"),
        display_name=raw.get("display_name"),
        policy=PasswordPolicy.from_options(options if isinstance(options, dict) else None),
    )


class Creator:
    """New users of one tenant, on the Directory's Management API client and token."""

    def __init__(self, *, directory: Directory):
        self._directory = directory

    def database_connections(self) -> tuple[DatabaseConnection, ...]:
        """`GET /api/v2/connections?strategy=auth0` (every checkpoint page, in one call_api)."""

        def fetch(api: Any) -> list:
            found = []
            for item in api.connections.list(strategy="auth0", take=50, include_totals=True):
                found.append(item)
                if len(found) >= CONNECTIONS_MAX:
                    break
            return found

        return tuple(connection_from_sdk(item) for item in self._directory.call_api(fetch) if item.name)

    def create_user(
        self, *, connection: str, email: str, name: str | None, password: str, verify_email: bool
    ) -> User:
        """`POST /api/v2/users` on a database connection. Raises AlreadyExists, PasswordRefused, NotAllowed."""
        fields: dict[str, Any] = {"connection": connection, "email": email, "password": password}
        if name:
            fields["name"] = name
        fields["verify_email"] = verify_email

        def create(api: Any) -> Any:
            try:
                return api.users.create(**fields, request_options=NO_RETRY)
            except ApiError as exc:
                refusal = _refusal(exc)
                if refusal is None:
                    raise
                raise refusal from None

        try:
            made = self._directory.call_api(create)
        except AlreadyExists as exc:
            raise AlreadyExists(exc.message, user_id=self._existing_user_id(email)) from None
        return user_from_sdk(made)

    def _existing_user_id(self, email: str) -> str | None:
        """The user_id of the person Auth0 already has with this email (`GET /users-by-email`), if it says."""
        try:
            found = self._directory.call_api(lambda api: api.users.list_users_by_email(email=email))
        except AdminError as exc:
            log.info("could not look up the existing user for a 409: %s", exc.message)
            return None
        for item in found or ():
            user_id = getattr(item, "user_id", None)
            if user_id:
                return str(user_id)
        return None

    def invitation_link(
        self, *, user: User, result_url: str | None, ttl_seconds: int = INVITATION_TTL_SECONDS
    ) -> Invitation:
        """`POST /api/v2/tickets/password-change` with `mark_email_as_verified`: the link (a secret)."""
        started = datetime.now(UTC)
        kwargs: dict[str, Any] = {
            "user_id": user.user_id,
            "ttl_sec": ttl_seconds,
            "mark_email_as_verified": True,
        }
        if result_url:
            kwargs["result_url"] = result_url

        def ticket(api: Any) -> Any:
            try:
                return api.tickets.change_password(**kwargs)
            except ApiError as exc:
                if exc.status_code != 400:
                    raise
                detail = str(_body(exc).get("message") or "invalid request")
                raise NotAllowed(f"Auth0 refused the invitation link: {detail}") from None

        answer = self._directory.call_api(ticket)
        if not getattr(answer, "ticket", None):
            raise Unreachable("Auth0 answered without an invitation link. Try again in a moment.")
        return Invitation(
            user=user, link=str(answer.ticket), expires_at=started + timedelta(seconds=ttl_seconds)
        )


def _refusal(exc: ApiError) -> AdminError | None:
    """Auth0's 409 and 400 on a create, in words; None for the rest (translated as every other error)."""
    body = _body(exc)
    message = str(body.get("message") or "").strip()
    if exc.status_code == 409:
        return AlreadyExists(
            f"Auth0 already has a user with this email address (Auth0 said: {message or 'Conflict'})."
        )
    if exc.status_code == 400 and message.startswith("Password"):
        return PasswordRefused(
            "Auth0 refused the password for this connection's password policy (Auth0 said: "
            f"{message}). Choose a stronger password, or invite the person to choose their own."
        )
    if exc.status_code == 400:
        return NotAllowed(f"Auth0 refused to create the user: {message or 'invalid request'}")
    return None
