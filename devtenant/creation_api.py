"""Management API v2 creation routes: ``GET /connections`` and ``POST /users``, with each database
connection's password policy (Auth0's levels "none", "low", "fair", "good", "excellent").

Bodies, status codes and scopes follow Auth0's OpenAPI document. A too-weak password is refused as Auth0
refuses it (400 ``PasswordStrengthError: Password is too weak``); an email already on the connection is a
409 ``The user already exists.``. ``PUT /__dev/connections/{name}`` changes a connection's policy for a
test; ``POST /__dev/reset`` puts the defaults back.
"""

from __future__ import annotations

import copy
import json
import re
import string
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant.errors import api_error, api_error_body
from devtenant.management import Denied, _int_param, _query_error, _truthy
from devtenant.people import DB_CONNECTION
from devtenant.support_api import _body, _payload_error

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

LEVELS = ("none", "low", "fair", "good", "excellent")
LENGTHS = {"none": 1, "low": 6, "fair": 8, "good": 8, "excellent": 10}
WEAK_PASSWORD = "PasswordStrengthError: Password is too weak"
DUPLICATE = "The user already exists."
# A second database connection with a stricter policy, so tests can tell the policies apart.
CONTRACTORS = "Contractors"


def default_connections() -> list[dict]:
    """The tenant's connections as Auth0 lists them (database ones with their password policy)."""
    return [
        {
            "id": "con_devtenantdb00001",
            "name": DB_CONNECTION,
            "display_name": DB_CONNECTION,
            "strategy": "auth0",
            "realms": [DB_CONNECTION],
            "is_domain_connection": False,
            "options": {"passwordPolicy": "good", "brute_force_protection": True, "mfa": {"active": True}},
        },
        {
            "id": "con_devtenantdb00002",
            "name": CONTRACTORS,
            "display_name": CONTRACTORS,
            "strategy": "auth0",
            "realms": [CONTRACTORS],
            "is_domain_connection": False,
            "options": {
                "passwordPolicy": "excellent",
                "password_complexity_options": {"min_length": 12},
                "brute_force_protection": True,
            },
        },
        {
            "id": "con_devtenantgoogle1",
            "name": "google-oauth2",
            "display_name": "Google",
            "strategy": "google-oauth2",
            "realms": ["google-oauth2"],
            "is_domain_connection": False,
            "options": {"email": True, "profile": True},
        },
        {
            "id": "con_devtenantgithub1",
            "name": "github",
            "display_name": "GitHub",
            "strategy": "github",
            "realms": ["github"],
            "is_domain_connection": False,
            "options": {"email": True},
        },
    ]


def password_too_weak(password: str, options: dict) -> bool:
    """Auth0's policy check (password-sheriff's rules), written apart from the app's on purpose."""
    level = options.get("passwordPolicy") or "none"
    complexity = options.get("password_complexity_options") or {}
    length = complexity.get("min_length") or LENGTHS.get(level, 1)
    if len(password) < length:
        return True
    kinds = [
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c in string.digits for c in password),
        any(c in string.punctuation + " " for c in password),
    ]
    if level == "fair" and not all(kinds[:3]):
        return True
    if level in ("good", "excellent") and sum(kinds) < 3:
        return True
    return level == "excellent" and re.search(r"(.)\1\1", password, re.DOTALL) is not None


def connection_options(tenant: Tenant, user: dict) -> dict:
    """The options (password policy) of the database connection of a user's first identity."""
    name = ((user.get("identities") or [{}])[0]).get("connection") or DB_CONNECTION
    found = next((c for c in tenant.connections if c["name"] == name), None)
    return (found or {}).get("options") or {}


CREATE_FIELDS = {
    "connection": str,
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
    "password": str,
    "verify_email": bool,
    "username": str,
}
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


def routes(tenant: Tenant, guarded: Callable) -> list[Route]:
    def connections() -> list[dict]:
        return tenant.connections

    @guarded("GET /connections")
    async def list_connections(request: Request) -> Response:
        params = request.query_params
        found = list(connections())
        strategies = params.getlist("strategy")
        if strategies:
            found = [c for c in found if c["strategy"] in strategies]
        if params.get("name"):
            found = [c for c in found if c["name"] == params["name"]]
        # Options are sent only to a token with read:connections_options (Auth0's rule since 2025).
        if "read:connections_options" not in request.scope.get("devtenant_scopes", ()):
            found = [{k: v for k, v in c.items() if k != "options"} for c in found]
        fields = [f for f in (params.get("fields") or "").split(",") if f]
        if fields:
            include = _truthy(params.get("include_fields"), True)
            found = [{k: v for k, v in c.items() if (k in fields) == include} for c in found]
        found = copy.deepcopy(found)
        if "take" in params or "from" in params:
            take = _int_param(request, "take", 50, "Number of results per page. Defaults to 50.")
            if take < 1 or take > 100:
                raise Denied(_query_error(f"Value {take} is out of range 1-100", "take", "take"))
            start = 0
            if params.get("from"):
                ids = [c.get("id") for c in connections()]
                if params["from"] not in ids:
                    raise Denied(api_error(400, "The 'from' parameter is not valid.", "invalid_query_string"))
                start = ids.index(params["from"])
            page = found[start : start + take]
            body: dict = {"connections": page}
            if start + take < len(found):
                body["next"] = connections()[start + take]["id"]
            return JSONResponse(body)
        page_no = _int_param(request, "page", 0, "Page index of the results to return. First page is 0.")
        per_page = _int_param(request, "per_page", 50, "The amount of entries per page.")
        if per_page < 1 or per_page > 100:
            raise Denied(_query_error(f"Value {per_page} is out of range 1-100", "per_page", "per_page"))
        chunk = found[page_no * per_page : (page_no + 1) * per_page]
        if _truthy(params.get("include_totals"), False):
            return JSONResponse(
                {"total": len(found), "start": page_no * per_page, "limit": per_page, "connections": chunk}
            )
        return JSONResponse(chunk)

    @guarded("POST /users")
    async def create_user(request: Request) -> Response:
        body = await _body(request, CREATE_FIELDS, required=("connection",))
        connection = next((c for c in connections() if c["name"] == body["connection"]), None)
        if connection is None:
            return api_error(400, "The connection does not exist.", "inexistent_connection")
        if connection["strategy"] != "auth0":
            return api_error(
                400,
                "Connection does not support user creation through the API. It must either be a "
                "database or passwordless connection.",
                "operation_not_supported",
            )
        email = body.get("email")
        if email is None:
            return _payload_error("Missing required property: email", "email")
        if not _EMAIL.match(email):
            return _payload_error(f"Object didn't pass validation for format email: {email}", "email")
        if "password" not in body:
            return _payload_error("Missing required property: password", "password")
        if password_too_weak(body["password"], connection.get("options") or {}):
            return api_error(400, WEAK_PASSWORD)
        data = {k: v for k, v in body.items() if k not in ("verify_email",)}
        if "user_id" in data:
            data["user_id"] = f"auth0|{data['user_id']}"
        try:
            user = tenant.create_user(data)
        except KeyError:
            return api_error(409, DUPLICATE, "auth0_idp_error")
        except ValueError as exc:
            return _payload_error(str(exc))
        if body.get("verify_email") is not False and not body.get("email_verified"):
            token = tenant.support.new_ticket(user["user_id"], kind="verification_email")
            link = f"{tenant.base_url}/u/email-verification?ticket={token}"
            tenant.support.send(user["email"], "verification_email", link, user["user_id"])
        return JSONResponse(user, status_code=201)

    return [
        Route("/api/v2/connections", list_connections, methods=["GET"]),
        Route("/api/v2/users", create_user, methods=["POST"]),
    ]


def dev_routes(tenant: Tenant) -> list[Route]:
    """``PUT /__dev/connections/{name}`` with ``{"passwordPolicy": "excellent", "min_length": 12}``."""

    async def set_policy(request: Request) -> Response:
        name = request.path_params["name"]
        connection = next((c for c in tenant.connections if c["name"] == name), None)
        if connection is None or connection["strategy"] != "auth0":
            return JSONResponse(api_error_body(404, f"no database connection {name}"), status_code=404)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("passwordPolicy", "good") not in (*LEVELS, None):
            return JSONResponse(
                api_error_body(
                    400, f'the body is {{"passwordPolicy": one of {list(LEVELS)}, "min_length": n}}'
                ),
                status_code=400,
            )
        options = connection.setdefault("options", {})
        if "passwordPolicy" in body:
            options["passwordPolicy"] = body["passwordPolicy"]
        if "min_length" in body:
            if body["min_length"]:
                options["password_complexity_options"] = {"min_length": int(body["min_length"])}
            else:
                options.pop("password_complexity_options", None)
        return JSONResponse(connection)

    return [Route("/__dev/connections/{name}", set_policy, methods=["PUT"])]
