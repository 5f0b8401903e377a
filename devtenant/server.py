"""Builds the Starlette app and runs it under uvicorn (loopback only)."""

from __future__ import annotations

import re
import socket
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devtenant import control, creation_api, jobs_api, management, oidc, reset, roles_api, support_api
from devtenant.config import Config, check_loopback
from devtenant.errors import api_error_body
from devtenant.people import avatar_key, avatar_svg, initials
from devtenant.tenant import Tenant


def create_app(config: Config, tenant: Tenant | None = None):
    """The ASGI app (Starlette wrapped in the control middleware). ``app.state.tenant`` is the state."""
    tenant = tenant or Tenant(config)
    avatars: dict[str, str] = {}

    async def avatar(request: Request) -> Response:
        key = request.path_params["key"]
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            return Response(status_code=404)
        text = avatars.get(key)
        if text is None:
            text = "?"
            with tenant.store.lock:
                for user in tenant.store.live.values():
                    if avatar_key(user["user_id"]) == key:
                        text = initials(user)
                        break
            avatars[key] = text
        return Response(
            avatar_svg(text, key),
            media_type="image/svg+xml",
            headers={"cache-control": "public, max-age=86400"},
        )

    async def not_found(request: Request, exc) -> Response:
        status = getattr(exc, "status_code", 404)
        if request.url.path.startswith("/api/v2"):
            return JSONResponse(
                api_error_body(status, "Not Found" if status == 404 else None), status_code=status
            )
        return JSONResponse(
            {"error": "not_found", "error_description": f"{request.method} {request.url.path}"},
            status_code=status,
        )

    routes = (
        control.routes(tenant)
        + oidc.routes(tenant)
        + management.routes(tenant)
        + support_api.dev_routes(tenant)
        + roles_api.dev_routes(tenant)
        + creation_api.dev_routes(tenant)
        + jobs_api.dev_routes(tenant)
        + reset.routes(tenant)
        + [Route("/avatars/{key}.svg", avatar, methods=["GET"])]
    )
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.tenant = tenant
    wrapped = control.ControlMiddleware(app, tenant, routes)
    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped


def bind(config: Config) -> socket.socket:
    """Bind the listening socket first, so ``--port 0`` knows its port before users get URLs."""
    check_loopback(config.host)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP
    # (with proto 0 every keep-alive response waits ~40 ms for a delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    config.port = sock.getsockname()[1]
    return sock


def banner(tenant: Tenant) -> str:
    from devtenant.clients import CLIENTS

    cfg = tenant.config
    lines = [
        f"devtenant {cfg.base_url}",
        f"  issuer          {cfg.issuer}",
        f"  api audience    {cfg.api_audience}",
        f"  users           {len(tenant.store.live)} ({cfg.users} generated, seed {cfg.seed})",
        f"  options         latency {cfg.latency_ms} ms, rate limit {cfg.rate_limit}, token ttl {cfg.token_ttl} s, "
        f"id token ttl {cfg.id_token_ttl} s, index lag {cfg.index_lag_ms} ms",
        "  clients (dev only):",
    ]
    for c in CLIENTS.values():
        what = []
        if c.authorization_code:
            what.append("authorization code")
        if c.management_scopes:
            what.append("client credentials: " + " ".join(c.management_scopes))
        lines.append(f"    {c.client_id:<16} secret {c.client_secret:<22} {'; '.join(what)}")
    lines.append("  staff accounts:")
    for a in tenant.staff_accounts:
        lines.append(f"    {a['email']:<22} password {a['password']:<10} role {a['role'] or '-'}")
    # The documented ready line (see __main__.py): devtenant/processes.py finds a `--port 0` tenant by it.
    lines.append(f"devtenant ready on {cfg.base_url}")
    return "\n".join(lines)


def serve(config: Config, log_level: str = "warning") -> None:
    import uvicorn

    sock = bind(config)
    tenant = Tenant(config)
    app = create_app(config, tenant)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            http="h11",
            timeout_graceful_shutdown=2,
        )
    )
    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets=sockets)
        print(banner(tenant), flush=True)

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sys.stdout.flush()
