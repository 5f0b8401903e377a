"""Password reset and email verification: Auth0's Authentication API ``POST /dbconnections/change_password``
and the pages the links of tickets and recorded emails open (``/lo/reset``, ``/u/email-verification``).

There is no mail server: emails land in the outbox (``GET /__dev/outbox``).
"""

from __future__ import annotations

import html
import json
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devtenant.clients import CLIENTS
from devtenant.creation_api import connection_options, password_too_weak
from devtenant.oidc import error_page, page, with_query
from devtenant.people import DB_CONNECTION, iso_ms
from devtenant.support import is_database_user

if TYPE_CHECKING:
    from devtenant.support import Ticket
    from devtenant.tenant import Tenant

CHANGE_PASSWORD_ANSWER = "We've just sent you an email to reset your password."
MIN_PASSWORD = 8


def routes(tenant: Tenant) -> list[Route]:
    def usable(token: str, kind: str) -> tuple[Ticket | None, Response | None]:
        ticket = tenant.support.ticket(token) if token else None
        if ticket is None or ticket.kind != kind:
            return None, error_page("Invalid link", "This link is not valid. Ask for a new one.", 404)
        if ticket.used:
            return None, error_page(
                "Link already used", "This link has already been used. Ask for a new one."
            )
        if ticket.expires < time.time():
            return None, error_page("Link expired", "This link has expired. Ask for a new one.")
        if tenant.store.get(ticket.user_id) is None:
            return None, error_page("Invalid link", "The account of this link no longer exists.", 404)
        return ticket, None

    def reset_form(token: str, email: str, error: str | None = None, status: int = 200) -> Response:
        err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = (
            f"<h1>Change your password</h1><p>for <b>{html.escape(email)}</b></p>{err}"
            '<form method="post" action="/lo/reset">'
            f'<input type="hidden" name="ticket" value="{html.escape(token)}">'
            '<label for="password">New password</label>'
            '<input id="password" type="password" name="password" autocomplete="new-password" required>'
            '<label for="confirm">Confirm new password</label>'
            '<input id="confirm" type="password" name="confirm" autocomplete="new-password" required>'
            '<button type="submit">Reset password</button></form>'
        )
        return page("Change your password | devtenant", body, status)

    async def reset_page(request: Request) -> Response:
        token = request.query_params.get("ticket") or ""
        ticket, problem = usable(token, "password_reset")
        if problem:
            return problem
        user = tenant.store.get(ticket.user_id)
        return reset_form(token, user.get("email") or user["user_id"])

    async def reset_submit(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("ticket") or "")
        ticket, problem = usable(token, "password_reset")
        if problem:
            return problem
        store = tenant.store
        user = store.get(ticket.user_id)
        email = user.get("email") or user["user_id"]
        password, confirm = str(form.get("password") or ""), str(form.get("confirm") or "")
        if len(password) < MIN_PASSWORD:
            return reset_form(token, email, f"Use at least {MIN_PASSWORD} characters.", 400)
        if password != confirm:
            return reset_form(token, email, "The two passwords are not the same.", 400)
        if password_too_weak(password, connection_options(tenant, user)):
            return reset_form(
                token, email, "Password is too weak for this connection's password policy.", 400
            )
        ip = request.client.host if request.client else "127.0.0.1"
        with store.lock:
            ticket.used = True
            store.passwords[user["user_id"]] = password
            updated = {**user, "updated_at": iso_ms(int(time.time() * 1000))}
            if ticket.mark_email_as_verified:
                updated["email_verified"] = True
            store.put(updated)
        support = tenant.support
        support.unblock(updated)  # as in Auth0: changing the password lifts brute-force blocks
        support.log(updated, "scp", ip, request.headers.get("user-agent", ""))
        link = ""
        if ticket.result_url:
            extra = {"success": "true", "message": "Your password has been changed."}
            if ticket.include_email and updated.get("email"):
                extra["email"] = updated["email"]
            target = with_query(ticket.result_url, extra)
            link = f'<p><a href="{html.escape(target)}">Back to the application</a></p>'
        return page(
            "Password changed | devtenant",
            f"<h1>Password changed</h1><p>You can now sign in with your new password.</p>{link}",
        )

    async def verify_email(request: Request) -> Response:
        token = request.query_params.get("ticket") or ""
        ticket, problem = usable(token, "verification_email")
        if problem:
            return problem
        store = tenant.store
        with store.lock:
            ticket.used = True
            user = store.get(ticket.user_id)
            updated = {**user, "email_verified": True, "updated_at": iso_ms(int(time.time() * 1000))}
            store.put(updated)
        tenant.support.log(
            updated,
            "sv",
            request.client.host if request.client else "127.0.0.1",
            request.headers.get("user-agent", ""),
        )
        return page(
            "Email verified | devtenant", "<h1>Email verified</h1><p>Your email address was verified.</p>"
        )

    async def unblock(request: Request) -> Response:
        token = request.query_params.get("ticket") or ""
        ticket, problem = usable(token, "unblock")
        if problem:
            return problem
        ticket.used = True
        tenant.support.unblock(tenant.store.get(ticket.user_id))
        return page(
            "Account unblocked | devtenant",
            "<h1>Account unblocked</h1><p>You can sign in again.</p>",
        )

    async def change_password(request: Request) -> Response:
        raw = await request.body()
        try:
            if "json" in request.headers.get("content-type", "") or raw.lstrip().startswith(b"{"):
                data = json.loads(raw or b"{}")
            else:
                data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return JSONResponse({"error": "invalid_request", "error_description": "Invalid JSON body"}, 400)
        client_id, email, connection = data.get("client_id"), data.get("email"), data.get("connection")
        if not client_id or client_id not in CLIENTS:
            return JSONResponse({"error": "invalid_request", "error_description": "Unknown client."}, 400)
        if not email or not isinstance(email, str):
            return JSONResponse({"error": "invalid_request", "error_description": "Missing email."}, 400)
        databases = {c["name"] for c in tenant.connections if c["strategy"] == "auth0"}
        if connection != DB_CONNECTION and connection not in databases:
            return JSONResponse(
                {"error": "invalid_request", "error_description": f"connection not found: {connection}"}, 400
            )
        user = tenant.store.by_email_get(email)
        # Same answer whether or not the address is known (no account discovery), as in Auth0.
        if user is not None and is_database_user(user):
            token = tenant.support.new_ticket(user["user_id"], kind="password_reset")
            tenant.support.send(
                user["email"],
                "password_reset",
                f"{tenant.base_url}/lo/reset?ticket={token}#",
                user["user_id"],
            )
        return PlainTextResponse(CHANGE_PASSWORD_ANSWER)

    return [
        Route("/lo/reset", reset_page, methods=["GET"]),
        Route("/lo/reset", reset_submit, methods=["POST"]),
        Route("/u/email-verification", verify_email, methods=["GET"]),
        Route("/u/unblock", unblock, methods=["GET"]),
        Route("/dbconnections/change_password", change_password, methods=["POST"]),
    ]
