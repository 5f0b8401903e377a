"""Management API v2 support-desk routes: user logs, user blocks, password tickets, verification emails,
MFA (authentication methods, Guardian enrollments), sessions and refresh tokens.

Bodies, status codes and scopes follow Auth0's OpenAPI document; `devtenant.management` supplies the
token and scope check (``guarded``). Sessions and refresh tokens exist on Enterprise plans only: on
another plan (``PUT /__dev/plan``) they answer ``PLAN_ERROR`` (a guess, see the README).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant.config import PLANS
from devtenant.errors import api_error, api_error_body
from devtenant.management import Denied, _int_param, _paging, _query_error, _truthy
from devtenant.people import iso_ms
from devtenant.support import MAX_FAILURES, TICKET_TTL_S, enrollment, is_database_user

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

LOG_WINDOW = 1000
LOG_PAGING_MESSAGE = (
    "You can only page through the first 1000 records. "
    "See https://auth0.com/docs/logs/retrieve-log-events-using-mgmt-api#limitations"
)
PLAN_ERROR = api_error_body(
    403, "This feature is not enabled for this tenant.", "operation_not_supported"
)  # a guess: no public record of Auth0's exact words was found
TICKET_FIELDS = {
    "result_url": str,
    "user_id": str,
    "client_id": str,
    "organization_id": str,
    "connection_id": str,
    "email": str,
    "ttl_sec": int,
    "mark_email_as_verified": bool,
    "includeEmailInRedirect": bool,
    "identity": dict,
}
JOB_FIELDS = {"user_id": str, "client_id": str, "identity": dict, "organization_id": str}
TYPE_NAMES = {bool: "boolean", str: "string", dict: "object", int: "integer", list: "array"}


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return TYPE_NAMES.get(type(value), "number" if isinstance(value, float) else "unknown")


def _payload_error(message: str, prop: str | None = None) -> Response:
    where = f" on property {prop}" if prop else ""
    return api_error(400, f"Payload validation error: '{message}'{where}.", "invalid_body")


async def _body(request: Request, fields: dict[str, type], required: tuple[str, ...] = ()) -> dict:
    """The JSON object body checked against ``fields`` (Auth0's payload validation words)."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise Denied(api_error(400, "Invalid request payload JSON format", "invalid_body")) from None
    if not isinstance(body, dict):
        raise Denied(_payload_error(f"Expected type object but found type {_type_name(body)}"))
    for key, value in body.items():
        want = fields.get(key)
        if want is None:
            raise Denied(_payload_error(f"Additional properties not allowed: {key}"))
        ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
        if not ok:
            raise Denied(
                _payload_error(f"Expected type {TYPE_NAMES[want]} but found type {_type_name(value)}", key)
            )
    for key in required:
        if key not in body:
            raise Denied(_payload_error(f"Missing required property: {key}"))
    return body


def routes(tenant: Tenant, guarded: Callable) -> list[Route]:
    support = lambda: tenant.support  # noqa: E731 - replaced on every reset

    def user_id(request: Request) -> str:
        return unquote(request.path_params["id"])

    def not_found() -> Response:
        return api_error(404, "The user does not exist.", "inexistent_user")

    def known_user(request: Request) -> dict:
        user = tenant.store.get(user_id(request))
        if user is None:
            raise Denied(not_found())
        return user

    def enterprise_only() -> None:
        if support().plan != "enterprise":
            raise Denied(JSONResponse(PLAN_ERROR, status_code=403))

    def paging_1_100(request: Request, what: str) -> tuple[int, int]:
        page = _int_param(request, "page", 0, "Page index of the results to return. First page is 0.")
        raw = request.query_params.get("per_page")
        per_page = _int_param(request, "per_page", 50, what)
        if raw not in (None, "") and per_page < 1:
            raise Denied(_query_error(f"Value {per_page} is less than minimum 1", "per_page", what))
        if per_page > 100:
            raise Denied(_query_error(f"Too big: {per_page} > 100 (maximum)", "per_page", what))
        return page, per_page

    # --- logs ----------------------------------------------------------------------------------
    @guarded("GET /users/{id}/logs")
    async def user_logs(request: Request) -> Response:
        page, per_page = paging_1_100(
            request, "Number of results per page. Paging is disabled if parameter not sent."
        )
        raw_sort = request.query_params.get("sort") or "date:-1"
        if raw_sort not in ("date:-1", "date:1"):
            return _query_error(
                f"Invalid sort: {raw_sort} (use date:1 or date:-1)",
                "sort",
                "Field to sort by. Use `fieldname:1` for ascending order and `fieldname:-1` for descending.",
            )
        start = page * per_page
        if start >= LOG_WINDOW:
            return api_error(400, LOG_PAGING_MESSAGE, "invalid_paging")
        user = tenant.store.get(user_id(request))
        events = []
        if user is not None:
            with support().lock:
                rec = support().record(user)
                events = support().sorted_events(rec, newest_first=raw_sort == "date:-1")
        events = events[:LOG_WINDOW]
        chunk = [dict(e) for e in events[start : start + min(per_page, LOG_WINDOW - start)]]
        if not _truthy(request.query_params.get("include_totals"), False):
            return JSONResponse(chunk)
        return JSONResponse(
            {"start": start, "limit": per_page, "length": len(chunk), "total": len(events), "logs": chunk}
        )

    # --- user blocks -------------------------------------------------------------------------
    @guarded("GET /user-blocks/{id}")
    async def get_blocks(request: Request) -> Response:
        user = known_user(request)
        with support().lock:
            blocks = [dict(b) for b in support().record(user).blocks.values()]
        return JSONResponse({"blocked_for": blocks})

    @guarded("DELETE /user-blocks/{id}")
    async def delete_blocks(request: Request) -> Response:
        support().unblock(known_user(request))
        return Response(status_code=204)

    # --- tickets and jobs ----------------------------------------------------------------------
    @guarded("POST /tickets/password-change")
    async def password_ticket(request: Request) -> Response:
        body = await _body(request, TICKET_FIELDS)
        if "user_id" in body and ("email" in body or "connection_id" in body):
            return api_error(
                400,
                "Payload validation error: 'user_id' cannot be used with email or connection_id.",
                "invalid_body",
            )
        if "user_id" in body:
            user = tenant.store.get(body["user_id"])
        elif "email" in body and "connection_id" in body:
            user = tenant.store.by_email_get(body["email"])
        else:
            return api_error(
                400, "Payload validation error: 'Missing required property: user_id'.", "invalid_body"
            )
        if user is None:
            return not_found()
        if not is_database_user(user):
            return api_error(
                400,
                "The user does not have a password: they sign in with another identity provider.",
                "invalid_body",
            )
        ttl = body.get("ttl_sec") or TICKET_TTL_S
        if ttl < 0:
            return _payload_error(f"Value {ttl} is less than minimum 0", "ttl_sec")
        token = support().new_ticket(
            user["user_id"],
            kind="password_reset",
            ttl_s=ttl,
            result_url=body.get("result_url"),
            mark_email_as_verified=bool(body.get("mark_email_as_verified")),
            include_email=bool(body.get("includeEmailInRedirect")),
        )
        return JSONResponse({"ticket": f"{tenant.base_url}/lo/reset?ticket={token}#"}, status_code=201)

    @guarded("POST /jobs/verification-email")
    async def verification_job(request: Request) -> Response:
        body = await _body(request, JOB_FIELDS, required=("user_id",))
        user = tenant.store.get(body["user_id"])
        if user is None:
            return api_error(400, "The user does not exist.", "inexistent_user")
        if not user.get("email"):
            return api_error(400, "The user does not have an email address.", "invalid_body")
        token = support().new_ticket(user["user_id"], kind="verification_email")
        support().send(
            user["email"],
            "verification_email",
            f"{tenant.base_url}/u/email-verification?ticket={token}",
            user["user_id"],
        )
        job = {
            "type": "verification_email",
            "status": "pending",
            "created_at": iso_ms(int(time.time() * 1000)),
            "id": f"job_{token[:16]}",
        }
        return JSONResponse(job, status_code=201)

    # --- MFA -----------------------------------------------------------------------------------
    @guarded("GET /users/{id}/authentication-methods")
    async def authentication_methods(request: Request) -> Response:
        user = known_user(request)
        page, per_page = _paging(request)
        with support().lock:
            methods = [dict(m) for m in support().record(user).methods]
        start = page * per_page
        chunk = methods[start : start + per_page]
        if not _truthy(request.query_params.get("include_totals"), False):
            return JSONResponse(chunk)
        return JSONResponse(
            {"start": start, "limit": per_page, "total": len(methods), "authenticators": chunk}
        )

    @guarded("GET /users/{id}/enrollments")
    async def enrollments(request: Request) -> Response:
        user = known_user(request)
        with support().lock:
            out = [enrollment(m) for m in support().record(user).methods]
        return JSONResponse(out)

    @guarded("DELETE /users/{id}/authenticators")
    async def delete_authenticators(request: Request) -> Response:
        user = tenant.store.get(user_id(request))
        if user is not None:
            with support().lock:
                support().record(user).methods.clear()
        return Response(status_code=204)

    @guarded("POST /users/{id}/multifactor/actions/invalidate-remember-browser")
    async def invalidate_remember_browser(request: Request) -> Response:
        user = tenant.store.get(user_id(request))
        if user is not None:
            with support().lock:
                support().record(user).remember_browser_invalidations += 1
        return Response(status_code=204)

    # --- sessions ------------------------------------------------------------------------------
    @guarded("GET /users/{user_id}/sessions")
    async def list_sessions(request: Request) -> Response:
        enterprise_only()
        user = known_user(request)
        what = "Number of results per page. Defaults to 50."
        take = _int_param(request, "take", 50, what)
        if not 1 <= take <= 100:
            return _query_error(f"Value {take} is out of range 1..100", "take", what)
        after = request.query_params.get("from") or None
        with support().lock:
            sessions = sorted(
                (dict(s) for s in support().record(user).sessions),
                key=lambda s: s["created_at"],
                reverse=True,
            )
        if after:
            ids = [s["id"] for s in sessions]
            sessions = sessions[ids.index(after) + 1 :] if after in ids else []
        body: dict = {"sessions": sessions[:take]}
        if len(sessions) > take:
            body["next"] = sessions[take - 1]["id"]
        return JSONResponse(body)

    @guarded("DELETE /users/{user_id}/sessions")
    async def delete_sessions(request: Request) -> Response:
        enterprise_only()
        user = known_user(request)
        with support().lock:
            support().record(user).sessions.clear()
        with tenant.lock:  # the dev tenant's own SSO cookies of that user stop working too
            for cookie in [c for c, s in tenant.sessions.items() if s["user_id"] == user["user_id"]]:
                del tenant.sessions[cookie]
        return Response(status_code=202)

    @guarded("DELETE /users/{user_id}/refresh-tokens")
    async def delete_refresh_tokens(request: Request) -> Response:
        enterprise_only()
        user = known_user(request)
        with support().lock:
            support().record(user).refresh_tokens.clear()
        return Response(status_code=202)

    return [
        Route("/api/v2/users/{id}/logs", user_logs, methods=["GET"]),
        Route("/api/v2/user-blocks/{id}", get_blocks, methods=["GET"]),
        Route("/api/v2/user-blocks/{id}", delete_blocks, methods=["DELETE"]),
        Route("/api/v2/tickets/password-change", password_ticket, methods=["POST"]),
        Route("/api/v2/jobs/verification-email", verification_job, methods=["POST"]),
        Route("/api/v2/users/{id}/authentication-methods", authentication_methods, methods=["GET"]),
        Route("/api/v2/users/{id}/enrollments", enrollments, methods=["GET"]),
        Route("/api/v2/users/{id}/authenticators", delete_authenticators, methods=["DELETE"]),
        Route(
            "/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser",
            invalidate_remember_browser,
            methods=["POST"],
        ),
        Route("/api/v2/users/{id}/sessions", list_sessions, methods=["GET"]),
        Route("/api/v2/users/{id}/sessions", delete_sessions, methods=["DELETE"]),
        Route("/api/v2/users/{id}/refresh-tokens", delete_refresh_tokens, methods=["DELETE"]),
    ]


def dev_routes(tenant: Tenant) -> list[Route]:
    """``/__dev`` controls for the support desk (loopback only, like every ``/__dev`` route)."""

    def bad(message: str) -> Response:
        return JSONResponse(api_error_body(400, message, "invalid_body"), status_code=400)

    async def json_body(request: Request):
        raw = await request.body()
        return json.loads(raw) if raw.strip() else {}

    def user_or_404(request: Request) -> dict | Response:
        user = tenant.store.get(unquote(request.path_params["id"]))
        if user is None:
            return JSONResponse(api_error_body(404, "The user does not exist.", "inexistent_user"), 404)
        return user

    async def outbox(request: Request) -> Response:
        support = tenant.support
        with support.lock:
            if request.method == "DELETE":
                support.outbox.clear()
            return JSONResponse(list(support.outbox))

    async def plan(request: Request) -> Response:
        support = tenant.support
        if request.method == "PUT":
            try:
                body = await json_body(request)
            except ValueError:
                body = None
            if not isinstance(body, dict) or body.get("plan") not in PLANS:
                return bad(f'the body is {{"plan": one of {list(PLANS)}}}')
            support.plan = body["plan"]
        return JSONResponse({"plan": support.plan})

    async def examples(request: Request) -> Response:
        """Generated users with each trait, in listing order (``?n=5`` of each): for tests to pick from."""
        try:
            n = int(request.query_params.get("n") or 5)
        except ValueError:
            return bad("n must be an integer")
        support = tenant.support
        found: dict[str, list[str]] = {
            k: []
            for k in (
                "locked",
                "failing",
                "mfa",
                "sessions",
                "unverified",
                "admin_blocked",
                "social",
                "never_logged_in",
                "no_problem",
            )
        }
        for user in tenant.store.all_users():
            if user["user_id"] not in support.generated:
                continue
            rec = support.record(user)
            last = support.sorted_events(rec)[:1]
            traits = {
                "locked": bool(rec.blocks),
                "failing": bool(rec.failures) and not rec.blocks,
                "mfa": bool(rec.methods),
                "sessions": bool(rec.sessions),
                "unverified": user.get("email_verified") is False,
                "admin_blocked": bool(user.get("blocked")),
                "social": not is_database_user(user),
                "never_logged_in": not user.get("last_login"),
            }
            traits["no_problem"] = (
                bool(last)
                and last[0]["type"] == "s"
                and not any(traits[k] for k in ("locked", "failing", "unverified", "admin_blocked", "social"))
            )
            for key, on in traits.items():
                if on and len(found[key]) < n:
                    found[key].append(user["user_id"])
            if all(len(v) >= n for v in found.values()):
                break
        return JSONResponse(found)

    async def user_support(request: Request) -> Response:
        user = user_or_404(request)
        if isinstance(user, Response):
            return user
        support = tenant.support
        with support.lock:
            rec = support.record(user)
            return JSONResponse(
                {
                    **support.traits(user),
                    "blocked_for": list(rec.blocks.values()),
                    "failures": dict(rec.failures),
                    "remember_browser_invalidations": rec.remember_browser_invalidations,
                    "password": tenant.password_of(user),
                }
            )

    async def lock(request: Request) -> Response:
        """Lock a user for an IP as 10 wrong passwords would (``{"ip": "203.0.113.4"}``), events included."""
        user = user_or_404(request)
        if isinstance(user, Response):
            return user
        try:
            body = await json_body(request)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("ip"), str) or not body["ip"]:
            return bad('the body is {"ip": "203.0.113.4"}')
        support = tenant.support
        for _ in range(MAX_FAILURES):
            support.log(user, "fp", body["ip"], "devtenant")
        support.lock_user(user, body["ip"])
        with support.lock:
            return JSONResponse({"blocked_for": list(support.record(user).blocks.values())}, status_code=201)

    async def tenant_logs(request: Request) -> Response:
        support = tenant.support
        with support.lock:
            return JSONResponse(list(support.tenant_events))

    return [
        Route("/__dev/outbox", outbox, methods=["GET", "DELETE"]),
        Route("/__dev/plan", plan, methods=["GET", "PUT"]),
        Route("/__dev/support", examples, methods=["GET"]),
        Route("/__dev/logs", tenant_logs, methods=["GET"]),
        Route("/__dev/users/{id}/support", user_support, methods=["GET"]),
        Route("/__dev/users/{id}/blocks", lock, methods=["POST"]),
    ]
