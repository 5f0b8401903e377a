"""Management API v2 subset under ``/api/v2``: users (list/search, get, patch, delete, roles), roles.

Every request needs a Bearer access token from the client-credentials grant (our RS256 key,
audience ``<base>/api/v2/``, not expired) with the scope the route needs. Errors use Auth0's
shape ``{"statusCode", "error", "message", "errorCode"}``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant import profile_api
from devtenant.errors import api_error
from devtenant.people import iso_ms
from devtenant.scopes import SCOPES
from devtenant.search import QueryCache, QueryError
from devtenant.store import SORT_FIELDS

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

MAX_PER_PAGE = 100
SEARCH_WINDOW = 1000
PAGING_MESSAGE = (
    "You can only page through the first 1000 records. "
    "See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
)
PATCHABLE = {
    "blocked": bool,
    "email_verified": bool,
    "email": str,
    "phone_number": str,
    "phone_verified": bool,
    "given_name": str,
    "family_name": str,
    "name": str,
    "nickname": str,
    "picture": str,
    "user_metadata": dict,
    "app_metadata": dict,
    "password": str,
    "connection": str,
    "verify_email": bool,
    "verify_phone_number": bool,
    "username": str,
    "client_id": str,
}
TYPE_NAMES = {
    bool: "boolean",
    str: "string",
    dict: "object",
    int: "integer",
    list: "array",
    type(None): "null",
}


class Denied(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _truthy(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("true", "1", "yes")


def _query_error(message: str, prop: str, what: str) -> Response:
    return api_error(
        400, f"Query validation error: '{message}' on property {prop} ({what}).", "invalid_query_string"
    )


def _int_param(request: Request, name: str, default: int, what: str):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Denied(
            _query_error(f"Expected type integer but found type string: {raw}", name, what)
        ) from None
    if value < 0:
        raise Denied(_query_error(f"Value {value} is less than minimum 0", name, what))
    return value


def _paging(request: Request) -> tuple[int, int]:
    """`page` and `per_page` as Auth0 checks them (both at least 0, per_page at most MAX_PER_PAGE)."""
    page = _int_param(request, "page", 0, "Page index of the results to return. First page is 0.")
    what = "Number of results per page. Defaults to 50."
    per_page = _int_param(request, "per_page", 50, what)
    if per_page > MAX_PER_PAGE:
        raise Denied(_query_error(f"Too big: {per_page} > {MAX_PER_PAGE} (maximum)", "per_page", what))
    return page, per_page


def _project(user: dict, fields: list[str] | None, include: bool) -> dict:
    if not fields:
        return user
    if include:
        return {k: user[k] for k in fields if k in user}
    return {k: v for k, v in user.items() if k not in fields}


def routes(tenant: Tenant) -> list[Route]:
    queries = QueryCache()

    def check(request: Request, scopes: tuple[str, ...]) -> dict:
        auth = request.headers.get("authorization", "")
        kind, _, token = auth.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise Denied(api_error(401, "Missing authentication"))
        try:
            claims = tenant.signer.verify(token.strip(), tenant.config.api_audience, tenant.config.issuer)
        except jwt.ExpiredSignatureError:
            raise Denied(
                api_error(
                    401,
                    "Expired token received for JSON Web Token validation",
                    attributes={"error": "jwt expired"},
                )
            ) from None
        except jwt.InvalidAudienceError:
            raise Denied(api_error(401, "Bad audience: " + tenant.config.api_audience)) from None
        except jwt.InvalidTokenError:
            raise Denied(api_error(401, "Invalid token")) from None
        granted = str(claims.get("scope", "")).split()
        if not set(scopes) & set(granted):
            raise Denied(
                api_error(
                    403, f"Insufficient scope, expected any of: {','.join(scopes)}", "insufficient_scope"
                )
            )
        return claims

    def guarded(operation: str):
        """The route needs a valid token with any of the scopes Auth0 lists for ``operation``."""
        scopes = SCOPES[operation]

        def wrap(fn):
            async def endpoint(request: Request) -> Response:
                try:
                    claims = check(request, scopes)
                    request.scope["devtenant_scopes"] = tuple(str(claims.get("scope", "")).split())
                    return await fn(request)
                except Denied as d:
                    return d.response

            return endpoint

        return wrap

    def user_id(request: Request) -> str:
        return unquote(request.path_params["id"])

    # --- users ---------------------------------------------------------------------------------
    @guarded("GET /users")
    async def list_users(request: Request) -> Response:
        qp = request.query_params
        page, per_page = _paging(request)
        include_totals = _truthy(qp.get("include_totals"), False)
        sort = None
        raw_sort = qp.get("sort")
        if raw_sort:
            field, _, direction = raw_sort.partition(":")
            if field not in SORT_FIELDS or direction not in ("1", "-1"):
                return _query_error(
                    f"Invalid sort: {raw_sort} (use one of {', '.join(SORT_FIELDS)} with :1 or :-1)",
                    "sort",
                    "Field to sort by. Use field:order where order is 1 for ascending "
                    "and -1 for descending. e.g. created_at:1",
                )
            sort = (field, direction == "-1")
        fields = [f.strip() for f in (qp.get("fields") or "").split(",") if f.strip()] or None
        include_fields = _truthy(qp.get("include_fields"), True)
        q = (qp.get("q") or "").strip()
        engine = qp.get("search_engine")
        if engine and engine not in ("v2", "v3"):
            return _query_error(
                f"No enum match for: {engine}", "search_engine", "The version of the search engine"
            )
        pred = None
        if q:
            try:
                pred = queries.get(q)
            except QueryError as exc:
                return api_error(
                    400,
                    f"Query validation error: 'Invalid query: {exc}' on property q "
                    "(Query in Lucene query string syntax).",
                    "invalid_query_string",
                )
        start = page * per_page
        with tenant.store.lock:
            index = tenant.store.search_view()
            if start >= SEARCH_WINDOW:
                return api_error(400, PAGING_MESSAGE, "invalid_paging")
            limit = min(per_page, SEARCH_WINDOW - start)
            users, total = index.page(sort, q, pred, start, limit)
        users = [_project(u, fields, include_fields) for u in users]
        if not include_totals:
            return JSONResponse(users)
        return JSONResponse(
            {"start": start, "limit": per_page, "length": len(users), "users": users, "total": total}
        )

    @guarded("GET /users-by-email")
    async def users_by_email(request: Request) -> Response:
        email = request.query_params.get("email")
        if not email:
            return _query_error("Missing required property: email", "email", "Email address to search for")
        user = tenant.store.by_email_get(email)
        fields = [
            f.strip() for f in (request.query_params.get("fields") or "").split(",") if f.strip()
        ] or None
        include = _truthy(request.query_params.get("include_fields"), True)
        return JSONResponse([_project(user, fields, include)] if user else [])

    def not_found() -> Response:
        return api_error(404, "The user does not exist.", "inexistent_user")

    @guarded("GET /users/{id}")
    async def get_user(request: Request) -> Response:
        user = tenant.store.get(user_id(request))
        if user is None:
            return not_found()
        fields = [
            f.strip() for f in (request.query_params.get("fields") or "").split(",") if f.strip()
        ] or None
        include = _truthy(request.query_params.get("include_fields"), True)
        return JSONResponse(_project(user, fields, include))

    @guarded("PATCH /users/{id}")
    async def patch_user(request: Request) -> Response:
        uid = user_id(request)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return api_error(400, "Invalid request payload JSON format", "invalid_body")
        if not isinstance(body, dict):
            return api_error(
                400,
                "Payload validation error: 'Expected type object but found type "
                f"{TYPE_NAMES.get(type(body), 'unknown')}'.",
                "invalid_body",
            )
        if not body:
            return api_error(
                400,
                "Payload validation error: 'Too few properties defined (0), must be at least 1.'.",
                "invalid_body",
            )
        for key, value in body.items():
            if key not in PATCHABLE:
                return api_error(
                    400,
                    f"Payload validation error: 'Additional properties not allowed: {key}'.",
                    "invalid_body",
                )
            want = PATCHABLE[key]
            nullable = want is dict or key in (
                "picture",
                "given_name",
                "family_name",
                "name",
                "nickname",
                "phone_number",
                "username",
            )
            if value is None and nullable:
                continue
            if not isinstance(value, want) or (want is str and isinstance(value, bool)):
                return api_error(
                    400,
                    f"Payload validation error: 'Expected type {TYPE_NAMES[want]} but found type "
                    f"{TYPE_NAMES.get(type(value), type(value).__name__)}' on property {key}.",
                    "invalid_body",
                )
        refused = profile_api.check_fields(body) or profile_api.check_metadata(body)
        if refused is not None:
            return refused
        store = tenant.store
        with store.lock:
            old = store.get(uid)
            if old is None:
                return not_found()
            if (refused := profile_api.check_connection(body, old)) is not None:
                return refused
            user = dict(old)
            for key, value in body.items():
                if key in ("password", "connection", "verify_email", "verify_phone_number", "client_id"):
                    continue
                if key in ("app_metadata", "user_metadata"):
                    merged = dict(user.get(key) or {})
                    for mk, mv in (value or {}).items():
                        if mv is None:
                            merged.pop(mk, None)
                        else:
                            merged[mk] = mv
                    if (refused := profile_api.check_merged(key, merged)) is not None:
                        return refused
                    if merged:
                        user[key] = merged
                    else:
                        user.pop(key, None)
                elif key == "email":
                    email = value.strip().lower()
                    other = store.by_email_get(email)
                    if other is not None and other["user_id"] != uid:
                        return api_error(400, "The specified new email already exists", "email_used")
                    if email != old.get("email") and "email_verified" not in body:
                        user["email_verified"] = False  # Auth0: a new address is unverified until verified
                    user["email"] = email
                elif value is None:
                    user.pop(key, None)
                else:
                    user[key] = value
            if "password" in body:
                store.passwords[uid] = body["password"]
            user["updated_at"] = iso_ms(int(time.time() * 1000))
            store.put(user)
        profile_api.after_update(tenant, body, user)
        return JSONResponse(user)

    @guarded("DELETE /users/{id}")
    async def delete_user(request: Request) -> Response:
        tenant.store.delete(user_id(request))
        return Response(status_code=204)

    # --- roles ---------------------------------------------------------------------------------
    def paged_roles(request: Request, roles: list[dict], key: str = "roles") -> Response:
        page, per_page = _paging(request)
        start = page * per_page
        chunk = roles[start : start + per_page]
        if not _truthy(request.query_params.get("include_totals"), False):
            return JSONResponse(chunk)
        return JSONResponse({key: chunk, "start": start, "limit": per_page, "total": len(roles)})

    @guarded("GET /users/{id}/roles")
    async def user_roles(request: Request) -> Response:
        uid = user_id(request)
        if tenant.store.get(uid) is None:
            return not_found()
        try:
            return paged_roles(request, [dict(r) for r in tenant.store.roles_of(uid)])
        except Denied as d:
            return d.response

    @guarded("GET /roles")
    async def list_roles(request: Request) -> Response:
        with tenant.store.lock:
            roles = [dict(r) for r in tenant.store.roles.values()]
        name = request.query_params.get("name_filter")
        if name:
            roles = [r for r in roles if name.lower() in r["name"].lower()]
        try:
            return paged_roles(request, roles)
        except Denied as d:
            return d.response

    @guarded("GET /roles/{id}")
    async def get_role(request: Request) -> Response:
        role = tenant.store.roles.get(request.path_params["role_id"])
        if role is None:
            return api_error(404, "The role does not exist.", "inexistent_role")
        return JSONResponse(dict(role))

    @guarded("GET /roles/{id}/users")
    async def role_users(request: Request) -> Response:
        role_id = request.path_params["role_id"]
        if role_id not in tenant.store.roles:
            return api_error(404, "The role does not exist.", "inexistent_role")
        members = [
            {k: u[k] for k in ("user_id", "email", "picture", "name") if k in u}
            for u in tenant.store.users_in_role(role_id)
        ]
        try:
            return paged_roles(request, members, key="users")
        except Denied as d:
            return d.response

    from devtenant import creation_api, jobs_api, roles_api, support_api

    return (
        support_api.routes(tenant, guarded)
        + roles_api.routes(tenant, guarded)
        + creation_api.routes(tenant, guarded)
        + jobs_api.routes(tenant, guarded)
        + [
            Route("/api/v2/users", list_users, methods=["GET"]),
            Route("/api/v2/users-by-email", users_by_email, methods=["GET"]),
            Route("/api/v2/users/{id}/roles", user_roles, methods=["GET"]),
            Route("/api/v2/users/{id}", get_user, methods=["GET"]),
            Route("/api/v2/users/{id}", patch_user, methods=["PATCH"]),
            Route("/api/v2/users/{id}", delete_user, methods=["DELETE"]),
            Route("/api/v2/roles", list_roles, methods=["GET"]),
            Route("/api/v2/roles/{role_id}/users", role_users, methods=["GET"]),
            Route("/api/v2/roles/{role_id}", get_role, methods=["GET"]),
        ]
    )
