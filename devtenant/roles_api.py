"""Management API v2 role assignment (`POST` / `DELETE /api/v2/users/{id}/roles`) and a dev control that
adds roles to the tenant (`POST /__dev/roles`), so the app's role picker can be tried past Auth0's page of 50.

Bodies, status codes and scopes follow Auth0's OpenAPI document (``AssignUserRolesRequestContent``,
``DeleteUserRolesRequestContent``: ``{"roles": [<role id>, ...]}``, at least one, additional properties
refused); `devtenant.management` supplies the token and scope check (``guarded``).
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant.errors import api_error, api_error_body
from devtenant.management import Denied

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

# Auth0's answer to an id that names no role of the tenant (a guess at the words: no public record found).
UNKNOWN_ROLE = "One or more of the roles do not exist."
MAX_DEV_ROLES = 1000


def _payload_error(message: str, prop: str | None = None) -> Response:
    where = f" on property {prop}" if prop else ""
    return api_error(400, f"Payload validation error: '{message}'{where}.", "invalid_body")


async def _roles_body(request: Request) -> list[str]:
    """The ``roles`` of the body, checked as Auth0's payload validation does."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise Denied(api_error(400, "Invalid request payload JSON format", "invalid_body")) from None
    if not isinstance(body, dict):
        raise Denied(_payload_error("Expected type object but found type " + type(body).__name__))
    for key in body:
        if key != "roles":
            raise Denied(_payload_error(f"Additional properties not allowed: {key}"))
    if "roles" not in body:
        raise Denied(_payload_error("Missing required property: roles"))
    roles = body["roles"]
    if not isinstance(roles, list):
        raise Denied(_payload_error("Expected type array but found type " + type(roles).__name__, "roles"))
    if not roles:
        raise Denied(_payload_error("Array is too short (0), minimum 1", "roles"))
    for item in roles:
        if not isinstance(item, str) or not item:
            raise Denied(_payload_error("Expected a non-empty string role id", "roles"))
    return roles


def routes(tenant: Tenant, guarded: Callable) -> list[Route]:
    store = lambda: tenant.store  # noqa: E731 - replaced on every reset

    def known_user(request: Request) -> str:
        uid = unquote(request.path_params["id"])
        if store().get(uid) is None:
            raise Denied(api_error(404, "The user does not exist.", "inexistent_user"))
        return uid

    def known_roles(ids: list[str]) -> list[str]:
        with store().lock:
            if any(rid not in store().roles for rid in ids):
                raise Denied(api_error(404, UNKNOWN_ROLE, "inexistent_role"))
        return ids

    @guarded("POST /users/{id}/roles")
    async def assign(request: Request) -> Response:
        uid = known_user(request)
        for rid in known_roles(await _roles_body(request)):
            store().assign(uid, rid)
        return Response(status_code=204)

    @guarded("DELETE /users/{id}/roles")
    async def remove(request: Request) -> Response:
        uid = known_user(request)
        ids = await _roles_body(request)
        with store().lock:
            held = store().user_roles.get(uid, [])
            store().user_roles[uid] = [r for r in held if r not in ids]  # ids it does not hold: no error
        return Response(status_code=204)

    return [
        Route("/api/v2/users/{id}/roles", assign, methods=["POST"]),
        Route("/api/v2/users/{id}/roles", remove, methods=["DELETE"]),
    ]


def dev_routes(tenant: Tenant) -> list[Route]:
    """``POST /__dev/roles`` with ``{"count": 60}`` (roles "Extra role 001", ...) or ``{"roles": [{"name":
    ..., "description": ...}]}``: more roles for the tenant, on top of the three seeded ones (a reset
    drops them). Answers 201 with the roles made."""

    def bad(message: str) -> Response:
        return JSONResponse(api_error_body(400, message, "invalid_body"), status_code=400)

    async def add_roles(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return bad("the body is JSON")
        if not isinstance(body, dict):
            return bad('the body is {"count": 60} or {"roles": [{"name": ..., "description": ...}]}')
        store = tenant.store
        with store.lock:
            taken = {r["name"] for r in store.roles.values()}
            if "count" in body:
                count = body["count"]
                if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_DEV_ROLES:
                    return bad(f"count is a whole number from 1 to {MAX_DEV_ROLES}")
                start = len(taken)
                wanted = [
                    {"name": f"Extra role {start + i:03d}", "description": f"Dev role number {start + i}"}
                    for i in range(count)
                ]
            else:
                wanted = body.get("roles")
                if not isinstance(wanted, list) or not wanted:
                    return bad('the body is {"count": 60} or {"roles": [{"name": ..., "description": ...}]}')
            rng = random.Random(f"dev-roles-{len(store.roles)}")
            alnum = string.ascii_letters + string.digits
            made = []
            for role in wanted:
                if not isinstance(role, dict) or not isinstance(role.get("name"), str) or not role["name"]:
                    return bad("each role has a name")
                if role["name"] in taken:
                    return bad(f"a role named {role['name']!r} exists already")
                rid = "rol_" + "".join(rng.choice(alnum) for _ in range(16))
                while rid in store.roles:
                    rid = "rol_" + "".join(rng.choice(alnum) for _ in range(16))
                record = {"id": rid, "name": role["name"], "description": str(role.get("description") or "")}
                store.roles[rid] = record
                taken.add(role["name"])
                made.append(dict(record))
        return JSONResponse(made, status_code=201)

    return [Route("/__dev/roles", add_roles, methods=["POST"])]
