"""Re-creating a deleted person (undo a delete): `POST /api/v2/users` on the same database connection,
their roles again (`POST /api/v2/users/{id}/roles`, through `RoleDesk`), and Auth0's password-reset email
(through `SupportDesk.send_password_reset`). What is sent is built by `admin_core.deleted.create_body`.

Calls go through `Directory.call_api` (one client, one token, errors translated as for every other call).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from auth0.management.core.api_error import ApiError

from admin_core.auth0.roles import RoleDesk
from admin_core.auth0.support import SupportDesk
from admin_core.auth0.users import Directory, user_from_sdk
from admin_core.domain import User
from admin_core.errors import NotAllowed


def _auth0_message(exc: ApiError) -> str:
    body: Any = exc.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip() or "no detail"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return "no detail"


class Recreator:
    """One tenant's calls for re-creating a person, on the Directory's Management API client and token."""

    def __init__(self, *, directory: Directory, roles: RoleDesk, desk: SupportDesk):
        self._directory = directory
        self._roles = roles
        self._desk = desk

    def create_user(self, body: dict[str, Any]) -> User:
        """`POST /api/v2/users`; Auth0's refusal (409 the email is taken, 400 the body) in words."""
        email = body.get("email") or "this address"

        def call(api: Any) -> Any:
            try:
                # once: a retried create that Auth0 did carry out would answer 409
                return api.users.create(**body, request_options={"max_retries": 0})
            except ApiError as exc:
                if exc.status_code == 409:
                    raise NotAllowed(
                        f"Auth0 already has a user with {email} on {body.get('connection')}, so nobody was "
                        f"created. Search the Users page for them. (Auth0: {_auth0_message(exc)})"
                    ) from None
                if exc.status_code == 400:
                    raise NotAllowed(f"Auth0 refused to create the user: {_auth0_message(exc)}") from None
                raise

        return user_from_sdk(self._directory.call_api(call))

    def assign_roles(self, *, user_id: str, role_ids: Sequence[str]) -> None:
        """The roles again (one request for all of them); nothing is sent when there are none."""
        if role_ids:
            self._roles.assign(user_id=user_id, role_ids=list(role_ids))

    def send_password_reset(self, *, user: User) -> None:
        """Auth0's reset email, so the person chooses a password (nobody knows the random one)."""
        self._desk.send_password_reset(user=user)

    def roles_of(self, user_id: str) -> list[dict[str, str]]:
        """The person's roles (`{"id", "name"}`), to keep before a delete."""
        return [{"id": r.role_id, "name": r.name} for r in self._roles.user_roles(user_id)]
