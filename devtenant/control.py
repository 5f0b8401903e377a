"""Test control: ``/__dev`` routes, injected faults, request counters, rate limit, latency.

``/__dev`` answers only clients on a loopback address (403 otherwise).

Faults (``POST /__dev/faults``, JSON)::

    {"method": "GET" | "*", "path": "/api/v2/users",  # prefix match on the request path
     "status": 500, "body": {...}, "headers": {...},   # answer this instead (body defaults to Auth0's shape)
     "delay_ms": 10000,                                # sleep first (then the status, or the real answer)
     "drop": true,                                     # close the connection without any HTTP response
     "malformed": true,                                # 200 application/json with the body '{"users": ['
     "times": 1}                                       # how many matching requests it applies to (default 1)

Faults are checked in the order added; the first that matches is used and its ``times`` counts down.
They apply before the real handler, on every path except ``/__dev`` and ``/healthz``.

Forged ID tokens (dev only, for tests of a client's ID token verification)::

    {"path": "/oauth/token", "id_token": {"forge": "alg_none"}, "times": 1}

makes the next ``times`` authorization-code exchanges answer as usual but with a forged ID token of that
kind (one of ``devtenant.tokens.FORGERIES``: ``wrong_key``, ``unknown_kid``, ``alg_none``,
``hs256_public_key``, ``wrong_issuer``, ``wrong_audience``, ``expired``, ``not_yet_valid``, ``wrong_nonce``,
``no_nonce``, ``azp_mismatch``, ``aud_list_without_azp``, ``iat_too_old``, ``no_sub``). Only a token
response that carries an ID token uses one up (client-credentials grants pass it by); it takes no
``status``, ``drop``, ``malformed`` or ``delay_ms``.

Stats (``GET /__dev/stats``)::

    {"requests": {"GET /api/v2/users": 3, "GET /api/v2/users/{id}": 1, "POST /oauth/token": 2},
     "token_grants": {"client_credentials": 1, "authorization_code": 2},
     "management_requests": 4}

``requests`` counts every request except ``/__dev/*`` and ``/healthz`` (faulted and 429 ones too),
keyed by "METHOD route-template"; ``management_requests`` counts requests under ``/api/v2``;
``token_grants`` counts tokens issued (successful grants) by grant type. Once a Management API GET with a
query string has come in, ``last_query`` holds the decoded query parameters of the latest such request per
key, e.g. ``{"GET /api/v2/users": {"q": "email:ada*", "page": "0", ...}}`` (so a test can read the literal
search the app sent); ``/__dev/reset`` clears it with the counters.

Users (``/__dev/users``): ``GET`` lists every user, ``POST`` creates one (``roles``, ``password`` too);
``PUT /__dev/users/{id}/roles`` with ``{"roles": ["User Viewer"]}`` replaces a user's roles and
``PUT /__dev/users/{id}/blocked`` with ``{"blocked": true}`` blocks or unblocks one, so a test can demote
or block a signed-in admin without a Management API request showing up in the stats.

Latency (``--latency-ms``) is an async sleep before every response except ``/__dev`` and
``/healthz``. Rate limit ``free`` is a token bucket (burst 2, refill 2/s) over ``/api/v2`` only;
every response carries ``x-ratelimit-limit``, ``x-ratelimit-remaining``, ``x-ratelimit-reset``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match, Route

from devtenant.errors import api_error_body, phrase
from devtenant.tokens import FORGERIES

if TYPE_CHECKING:
    from devtenant.tenant import Tenant


# --- rate limit ---------------------------------------------------------------------------------
class RateLimiter:
    def __init__(self, mode: str, capacity: int = 2, per_second: float = 2.0) -> None:
        self.mode = mode
        self.capacity = capacity if mode == "free" else 1000
        self.rate = per_second
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens = float(self.capacity)
            self.last = time.monotonic()

    def _refill(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return now

    def _headers(self, remaining: int, wait_s: float) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.capacity),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-reset": str(math.ceil(time.time() + max(0.0, wait_s))),
        }

    def take(self) -> tuple[bool, dict[str, str]]:
        if self.mode != "free":
            return True, self._headers(self.capacity, 0)
        with self.lock:
            self._refill()
            if self.tokens >= 1:
                self.tokens -= 1
                return True, self._headers(int(self.tokens), (self.capacity - self.tokens) / self.rate)
            return False, self._headers(0, (1 - self.tokens) / self.rate)

    def peek(self) -> dict[str, str]:
        if self.mode != "free":
            return self._headers(self.capacity, 0)
        with self.lock:
            self._refill()
            return self._headers(int(self.tokens), (self.capacity - self.tokens) / self.rate)


# --- faults ----------------------------------------------------------------------------------
class FaultError(ValueError):
    pass


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict] = []
        self.next_id = 1

    def add(self, spec: dict) -> dict:
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        known = {
            "method",
            "path",
            "status",
            "body",
            "headers",
            "delay_ms",
            "drop",
            "malformed",
            "times",
            "id_token",
        }
        extra = set(spec) - known
        if extra:
            raise FaultError(f"unknown fault keys: {sorted(extra)}")
        method = str(spec.get("method", "*")).upper()
        path = spec.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/"):
            raise FaultError("path must start with /")
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise FaultError("status must be an HTTP status code")
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict):
            raise FaultError("headers must be an object")
        delay = spec.get("delay_ms", 0) or 0
        if not isinstance(delay, int | float) or delay < 0:
            raise FaultError("delay_ms must be a number >= 0")
        times = spec.get("times", 1)
        if not isinstance(times, int) or times < 1:
            raise FaultError("times must be an integer >= 1")
        drop, malformed = bool(spec.get("drop")), bool(spec.get("malformed"))
        id_token = spec.get("id_token")
        if id_token is not None:
            if not isinstance(id_token, dict) or set(id_token) != {"forge"}:
                raise FaultError('id_token must be {"forge": kind}')
            if id_token["forge"] not in FORGERIES:
                raise FaultError(f"id_token.forge must be one of {sorted(FORGERIES)}")
            if not path.startswith("/oauth/token"):
                raise FaultError("an id_token forgery applies to /oauth/token only")
            if status is not None or drop or malformed or delay or spec.get("body") is not None or headers:
                raise FaultError(
                    "an id_token forgery takes no status, body, headers, drop, malformed or delay_ms"
                )
            id_token = {"forge": id_token["forge"]}
        elif status is None and not drop and not malformed and not delay:
            raise FaultError("a fault needs status, drop, malformed, delay_ms or id_token")
        fault = {
            "method": method,
            "path": path,
            "status": status,
            "body": spec.get("body"),
            "headers": {str(k).lower(): str(v) for k, v in headers.items()},
            "delay_ms": delay,
            "drop": drop,
            "malformed": malformed,
            "times": times,
            "id_token": id_token,
        }
        with self.lock:
            fault["id"] = self.next_id
            self.next_id += 1
            self.items.append(fault)
        return dict(fault)

    def match(self, method: str, path: str, *, forgery: bool = False) -> dict | None:
        """The first fault for this request, counted down. ID token forgeries are matched only when
        ``forgery`` is asked for (by the token endpoint, about to issue an ID token), other faults only
        when it is not (by the middleware, before any handler)."""
        with self.lock:
            for fault in self.items:
                if (fault["id_token"] is not None) != forgery:
                    continue
                if fault["method"] in ("*", method) and path.startswith(fault["path"]):
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self.items.remove(fault)
                    return dict(fault)
        return None

    def take_forgery(self, method: str, path: str) -> str | None:
        """The kind of forged ID token the next token response should carry, if a test asked for one."""
        fault = self.match(method, path, forgery=True)
        return fault["id_token"]["forge"] if fault else None

    def list(self) -> list[dict]:
        with self.lock:
            return [dict(f) for f in self.items]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def default_fault_body(status: int, path: str) -> dict:
    if path.startswith("/oauth/"):
        error = {429: "too_many_requests", 401: "access_denied", 403: "access_denied"}.get(
            status, "server_error" if status >= 500 else "invalid_request"
        )
        return {"error": error, "error_description": phrase(status)}
    if status == 429:
        return api_error_body(429, "Global limit has been reached", "too_many_requests")
    return api_error_body(status, phrase(status))


# --- the middleware ----------------------------------------------------------------------------
def is_loopback(client) -> bool:
    if not client:
        return False
    try:
        return ipaddress.ip_address(str(client[0]).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _last_queries(tenant: Tenant) -> dict[str, dict[str, str]]:
    """The latest query parameters per Management API GET route, kept on the current Stats object so that
    a reset (which replaces it) clears them together with the counters. Call with the tenant lock held."""
    stats = tenant.stats
    last = getattr(stats, "last_query", None)
    if last is None:
        last = stats.last_query = {}
    return last


def _is_control(path: str) -> bool:
    return path == "/healthz" or path == "/__dev" or path.startswith("/__dev/")


class ControlMiddleware:
    """Outermost ASGI layer: loopback check, counting, rate limit, latency, faults, headers."""

    def __init__(self, app, tenant: Tenant, routes: list) -> None:
        self.app = app
        self.tenant = tenant
        self.routes = routes

    def _template(self, scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.path
        return scope["path"]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tenant = self.tenant
        path, method = scope["path"], scope["method"]
        control = _is_control(path)
        api = path == "/api/v2" or path.startswith("/api/v2/")
        if not control:
            key = f"{method} {self._template(scope)}"
            with tenant.lock:
                tenant.stats.requests[key] += 1
                if api:
                    tenant.stats.management_requests += 1
                    if method == "GET" and scope.get("query_string"):
                        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                        _last_queries(tenant)[key] = dict(query)
        if api:
            allowed, extra = tenant.limiter.take()
        else:
            allowed, extra = True, tenant.limiter.peek()
        extra = dict(extra)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in extra]
                headers += [(k.encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": headers}
            await send(message)

        if path.startswith("/__dev") and not is_loopback(scope.get("client")):
            await JSONResponse(
                api_error_body(403, "The test-control API only answers loopback clients"), status_code=403
            )(scope, receive, send_with_headers)
            return
        if tenant.config.latency_ms and not control:
            await asyncio.sleep(tenant.config.latency_ms / 1000)
        if not allowed:
            body = api_error_body(429, "Global limit has been reached", "too_many_requests")
            await JSONResponse(body, status_code=429)(scope, receive, send_with_headers)
            return
        fault = None if control else tenant.faults.match(method, path)
        if fault is None:
            await self.app(scope, receive, send_with_headers)
            return
        if fault["delay_ms"]:
            await asyncio.sleep(fault["delay_ms"] / 1000)
        if fault["status"] == 429 and "x-ratelimit-remaining" not in fault["headers"]:
            extra["x-ratelimit-remaining"] = "0"
        extra.update(fault["headers"])
        if fault["drop"]:
            await drop_connection(send)
            return
        if fault["malformed"]:
            response = Response(b'{"users": [', media_type="application/json")
        elif fault["status"] is not None:
            status = fault["status"]
            body = fault["body"] if fault["body"] is not None else default_fault_body(status, path)
            if status in (204, 304) or status < 200:
                response = Response(status_code=status)
            else:
                response = Response(json.dumps(body), status_code=status, media_type="application/json")
        else:
            await self.app(scope, receive, send_with_headers)
            return
        await response(scope, receive, send_with_headers)


async def drop_connection(send) -> None:
    """Close the TCP connection without any HTTP response (uvicorn: abort the transport)."""
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None:
        transport.abort()
        for _ in range(3):  # let uvicorn see connection_lost, so it does not try a 500
            await asyncio.sleep(0)
        return
    # Other servers: start a response and fail mid-way; the client gets an incomplete message.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
    raise ConnectionAbortedError("devtenant fault: drop")


# --- /__dev routes -----------------------------------------------------------------------------
async def _json_body(request: Request):
    raw = await request.body()
    if not raw.strip():
        return {}
    return json.loads(raw)


def routes(tenant: Tenant) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def stats(request: Request) -> Response:
        with tenant.lock:
            body = tenant.stats.as_json()
            if last := _last_queries(tenant):
                body["last_query"] = dict(sorted(last.items()))
            return JSONResponse(body)

    async def reset(request: Request) -> Response:
        tenant.reset()
        return JSONResponse({"reset": True, "users": len(tenant.store.live)})

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(tenant.faults.list())
        if request.method == "DELETE":
            tenant.faults.clear()
            return JSONResponse([])
        try:
            body = await _json_body(request)
            specs = body if isinstance(body, list) else [body]
            added = [tenant.faults.add(s) for s in specs]
        except (ValueError, FaultError) as exc:
            return JSONResponse(api_error_body(400, str(exc), "invalid_body"), status_code=400)
        return JSONResponse(added if isinstance(body, list) else added[0], status_code=201)

    async def users(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(tenant.store.all_users())
        try:
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise ValueError("a user is a JSON object")
            user = tenant.create_user(body)
        except KeyError as exc:
            return JSONResponse(api_error_body(409, exc.args[0], "auth0_idp_error"), status_code=409)
        except ValueError as exc:
            return JSONResponse(api_error_body(400, str(exc), "invalid_body"), status_code=400)
        return JSONResponse(user, status_code=201)

    async def user_roles(request: Request) -> Response:
        """Replace a user's roles by name (``{"roles": ["User Viewer"]}``): demote or promote staff."""
        uid = unquote(request.path_params["id"])
        try:
            body = await _json_body(request)
            names = body.get("roles") if isinstance(body, dict) else None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError('the body is {"roles": [role names]}')
        except ValueError as exc:
            return JSONResponse(api_error_body(400, str(exc), "invalid_body"), status_code=400)
        store = tenant.store
        with store.lock:
            if store.get(uid) is None:
                return JSONResponse(api_error_body(404, "The user does not exist.", "inexistent_user"), 404)
            roles = [store.role_by_name(n) for n in names]
            if None in roles:
                unknown = [n for n, r in zip(names, roles, strict=True) if r is None]
                return JSONResponse(api_error_body(400, f"unknown roles: {unknown}", "invalid_body"), 400)
            store.user_roles[uid] = [r["id"] for r in roles]
            return JSONResponse([dict(r) for r in store.roles_of(uid)])

    async def user_blocked(request: Request) -> Response:
        """Block or unblock a user (``{"blocked": true}``) without a Management API request to count."""
        uid = unquote(request.path_params["id"])
        try:
            body = await _json_body(request)
            if (
                not isinstance(body, dict)
                or set(body) != {"blocked"}
                or not isinstance(body["blocked"], bool)
            ):
                raise ValueError('the body is {"blocked": true|false}')
        except ValueError as exc:
            return JSONResponse(api_error_body(400, str(exc), "invalid_body"), status_code=400)
        store = tenant.store
        with store.lock:
            old = store.get(uid)
            if old is None:
                return JSONResponse(api_error_body(404, "The user does not exist.", "inexistent_user"), 404)
            user = {**old, "blocked": body["blocked"]}
            store.put(user)
            return JSONResponse(user)

    async def accounts(request: Request) -> Response:
        return JSONResponse(tenant.staff_accounts)

    async def config(request: Request) -> Response:
        cfg = tenant.config
        return JSONResponse(
            {
                "base_url": cfg.base_url,
                "users": cfg.users,
                "seed": cfg.seed,
                "latency_ms": cfg.latency_ms,
                "rate_limit": cfg.rate_limit,
                "token_ttl": cfg.token_ttl,
                "id_token_ttl": cfg.id_token_ttl,
                "index_lag_ms": cfg.index_lag_ms,
                "plan": cfg.plan,
                "api_audience": cfg.api_audience,
            }
        )

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/__dev/stats", stats, methods=["GET"]),
        Route("/__dev/reset", reset, methods=["POST"]),
        Route("/__dev/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/__dev/users", users, methods=["GET", "POST"]),
        Route("/__dev/users/{id}/roles", user_roles, methods=["PUT"]),
        Route("/__dev/users/{id}/blocked", user_blocked, methods=["PUT"]),
        Route("/__dev/accounts", accounts, methods=["GET"]),
        Route("/__dev/config", config, methods=["GET"]),
    ]
