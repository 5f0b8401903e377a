"""Management API v2 ``POST /api/v2/users`` at its minimum, for re-creating a deleted person (undo a delete).

Body per Auth0's ``CreateUserRequestContent`` (``connection`` required, additional properties refused);
201 with the new user; 409 ``The user already exists.`` for an email the connection has; 400 for an
unknown connection or a database user without email or password. Helper N (branch ``newusers``) builds the
full call (password policy levels, invitations); when that lands, its route replaces this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant.errors import api_error
from devtenant.people import DB_CONNECTION
from devtenant.support_api import _body

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

CREATE_FIELDS: dict[str, type] = {
    "email": str,
    "phone_number": str,
    "user_metadata": dict,
    "blocked": bool,
    "email_verified": bool,
    "phone_verified": bool,
    "app_metadata": dict,
    "given_name": str,
    "family_name": str,
    "name": str,
    "nickname": str,
    "picture": str,
    "user_id": str,
    "connection": str,
    "password": str,
    "verify_email": bool,
    "username": str,
}


def routes(tenant: Tenant, guarded: Callable) -> list[Route]:
    @guarded("POST /users")
    async def create_user(request: Request) -> Response:
        body = await _body(request, CREATE_FIELDS, required=("connection",))
        if body["connection"] != DB_CONNECTION:
            return api_error(400, "The connection does not exist.", "inexistent_connection")
        if not body.get("email"):
            return api_error(
                400, "Payload validation error: 'Missing required property: email'.", "invalid_body"
            )
        if not body.get("password"):
            return api_error(
                400, "Payload validation error: 'Missing required property: password'.", "invalid_body"
            )
        data = {k: v for k, v in body.items() if k not in ("verify_email", "phone_verified")}
        if "user_id" in data:
            data["user_id"] = "auth0|" + data["user_id"]
        try:
            user = tenant.create_user(data)
        except KeyError:
            return api_error(409, "The user already exists.", "auth0_idp_error")
        except ValueError as exc:
            return api_error(400, f"Payload validation error: '{exc}'.", "invalid_body")
        return JSONResponse(user, status_code=201)

    return [Route("/api/v2/users", create_user, methods=["POST"])]
