"""OIDC sign-in on Auth0's paths: discovery, JWKS, /authorize (+ HTML form), /oauth/token,
/userinfo, /v2/logout and /oidc/logout.

Sign-in form: ``GET /authorize`` renders it (or, with a valid SSO cookie, redirects at once
with a code); the form posts to ``POST /u/login``. Wrong credentials or a blocked user re-render
the form (status 401), never a redirect to the client. Every attempt writes a log event, and ten
wrong passwords for one user from one IP lock that user for that IP (``devtenant.support``).
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from devtenant.clients import CLIENTS, Client
from devtenant.errors import oauth_error
from devtenant.people import iso_ms
from devtenant.support import BLOCKED_MESSAGE, is_database_user
from devtenant.tenant import AuthCode
from devtenant.tokens import now, pkce_s256

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

CODE_TTL_S = 600
USER_ACCESS_TTL_S = 86400
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
FORM_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "audience",
    "prompt",
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0;display:flex;justify-content:center}}
main{{background:#fff;margin-top:8vh;padding:2rem 2.5rem;border-radius:8px;width:22rem;
box-shadow:0 2px 12px rgba(0,0,0,.08)}}
h1{{font-size:1.3rem}} label{{display:block;margin:.8rem 0 .2rem}}
input[type=email],input[type=password]{{width:100%;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1.2rem;width:100%;padding:.6rem;background:#635dff;color:#fff;border:0;border-radius:4px;
font-size:1rem}} .error{{color:#b00020;background:#fdecee;padding:.5rem;border-radius:4px}}
small{{color:#666}} code{{font-size:.85em}}
</style></head><body><main>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status)


def error_page(title: str, detail: str, status: int = 400) -> HTMLResponse:
    body = f"<h1>{html.escape(title)}</h1><p class='error'>{html.escape(detail)}</p>"
    return page(title, body, status)


def with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [
        (k, v) for k, v in params.items() if v is not None
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def routes(tenant: Tenant) -> list[Route]:
    cfg = tenant.config
    base = cfg.base_url
    cookie_name = f"devtenant_sso_{cfg.port}"
    userinfo_aud = f"{base}/userinfo"

    # --- discovery --------------------------------------------------------------------------
    async def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": cfg.issuer,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "device_authorization_endpoint": f"{base}/oauth/device/code",
                "userinfo_endpoint": userinfo_aud,
                "mfa_challenge_endpoint": f"{base}/mfa/challenge",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "registration_endpoint": f"{base}/oidc/register",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "end_session_endpoint": f"{base}/oidc/logout",
                "scopes_supported": [
                    "openid",
                    "profile",
                    "offline_access",
                    "name",
                    "given_name",
                    "family_name",
                    "nickname",
                    "email",
                    "email_verified",
                    "picture",
                    "created_at",
                    "identities",
                    "phone",
                    "address",
                ],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256", "plain"],
                "response_modes_supported": ["query"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "claims_supported": [
                    "aud",
                    "auth_time",
                    "created_at",
                    "email",
                    "email_verified",
                    "exp",
                    "family_name",
                    "given_name",
                    "iat",
                    "identities",
                    "iss",
                    "name",
                    "nickname",
                    "phone_number",
                    "picture",
                    "sub",
                    "sid",
                    "nonce",
                    "updated_at",
                ],
                "request_uri_parameter_supported": False,
                "request_parameter_supported": False,
            }
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse(tenant.signer.jwks())

    # --- authorize --------------------------------------------------------------------------
    def validate(params) -> tuple[Client | None, Response | None]:
        """The client of an /authorize or /u/login request, or the response that refuses the request."""
        client = CLIENTS.get(params.get("client_id") or "")
        if client is None:
            return None, error_page(
                "Unknown client", f"invalid_request: Unknown client: {params.get('client_id') or '(none)'}"
            )
        if not client.authorization_code:
            return None, error_page(
                "Unauthorized client",
                "unauthorized_client: Grant type 'authorization_code' not allowed for the client.",
                403,
            )
        redirect_uri = params.get("redirect_uri") or ""
        if not client.redirect_allowed(redirect_uri):
            return None, error_page(
                "Callback URL mismatch",
                f"Callback URL mismatch. The provided redirect_uri ({redirect_uri or 'none'}) is not in the "
                f"list of allowed callback URLs of the application {client.client_id}.",
            )
        # With a trusted redirect_uri, the rest of the request's problems go back to it.
        problem = check_request(params)
        return (None, problem) if problem else (client, None)

    def redirect_error(params, error: str, description: str) -> Response:
        url = with_query(
            params["redirect_uri"],
            {"error": error, "error_description": description, "state": params.get("state")},
        )
        return RedirectResponse(url, status_code=302)

    def login_form(params, error: str | None = None, email: str = "", status: int = 200) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{f}" value="{html.escape(params.get(f) or "")}">'
            for f in FORM_FIELDS
        )
        err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        hints = "".join(
            f"<li><code>{html.escape(a['email'])}</code> / <code>{html.escape(a['password'])}</code>"
            f" ({html.escape(a['role'] or 'no role')})</li>"
            for a in tenant.staff_accounts
        )
        client = CLIENTS[params["client_id"]]
        body = (
            f"<h1>Log in</h1><p>to continue to <b>{html.escape(client.name)}</b> (devtenant)</p>{err}"
            f'<form method="post" action="/u/login">{hidden}'
            f'<label for="email">Email address</label>'
            f'<input id="email" type="email" name="email" value="{html.escape(email)}" autocomplete="username" '
            f"required autofocus>"
            f'<label for="password">Password</label>'
            f'<input id="password" type="password" name="password" autocomplete="current-password" required>'
            f'<button type="submit" name="action" value="default">Continue</button></form>'
            f"<p><small>Dev tenant accounts:</small></p><ul><small>{hints}</small></ul>"
        )
        return page("Log in | devtenant", body, status)

    def issue_code(params, client: Client, user_id: str, sid: str) -> Response:
        method = params.get("code_challenge_method") or None
        challenge = params.get("code_challenge") or None
        code = tenant.new_code(
            AuthCode(
                client_id=client.client_id,
                redirect_uri=params["redirect_uri"],
                user_id=user_id,
                scope=params.get("scope") or "openid",
                nonce=params.get("nonce") or None,
                code_challenge=challenge,
                code_challenge_method=(method or "plain") if challenge else None,
                sid=sid,
                audience=params.get("audience") or None,
                expires=time.time() + CODE_TTL_S,
            )
        )
        url = with_query(params["redirect_uri"], {"code": code, "state": params.get("state") or None})
        return RedirectResponse(url, status_code=302)

    def check_request(params) -> Response | None:
        if (params.get("response_type") or "") != "code":
            return redirect_error(
                params,
                "unsupported_response_type",
                f"Unsupported response type: {params.get('response_type') or '(none)'}",
            )
        method = params.get("code_challenge_method")
        if method and method not in ("S256", "plain"):
            return redirect_error(params, "invalid_request", f"Unsupported code_challenge_method: {method}")
        if method and not params.get("code_challenge"):
            return redirect_error(params, "invalid_request", "Missing required parameter: code_challenge")
        return None

    def sso_session(request: Request) -> dict | None:
        value = request.cookies.get(cookie_name)
        if not value:
            return None
        with tenant.lock:
            sess = tenant.sessions.get(value)
        if not sess:
            return None
        user = tenant.store.get(sess["user_id"])
        if user is None or user.get("blocked"):
            return None
        return sess

    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        client, problem = validate(params)
        if problem:
            return problem
        prompt = params.get("prompt") or ""
        sess = sso_session(request)
        if sess and "login" not in prompt.split():
            return issue_code(params, client, sess["user_id"], sess["sid"])
        if "none" in prompt.split():
            return redirect_error(params, "login_required", "Login required")
        return login_form(params)

    async def login(request: Request) -> Response:
        form = await request.form()
        params = {f: str(form.get(f) or "") for f in FORM_FIELDS}
        client, problem = validate(params)
        if problem:
            return problem
        email = str(form.get("email") or "").strip()
        password = str(form.get("password") or "")
        ip = request.client.host if request.client else "127.0.0.1"
        agent = request.headers.get("user-agent", "")
        store, support = tenant.store, tenant.support
        with store.lock:
            user = store.by_email_get(email) if email else None
            expected = tenant.password_of(user) if user else None
            if user is None or (expected is None and not is_database_user(user)):
                support.log(None, "fu", ip, agent, user_name=email)
                return login_form(params, "Wrong email or password.", email, 401)
            if support.is_locked(user, ip):  # brute-force protection: even the right password is refused
                support.log(user, "limit_wc", ip, agent, description=BLOCKED_MESSAGE)
                return login_form(params, BLOCKED_MESSAGE, email, 401)
            if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
                support.log(user, "fp", ip, agent)
                support.wrong_password(user, ip)
                return login_form(params, "Wrong email or password.", email, 401)
            if user.get("blocked"):
                support.log(user, "f", ip, agent)
                return login_form(params, "Your account is blocked.", email, 401)
            support.signed_in(user, ip)
            now_ms = int(time.time() * 1000)
            updated = dict(user)
            updated["last_login"] = iso_ms(now_ms)
            updated["logins_count"] = int(user.get("logins_count") or 0) + 1
            updated["last_ip"] = ip
            updated["updated_at"] = iso_ms(now_ms)
            store.put(updated)
        cookie = tenant.new_session(user["user_id"])
        sid = tenant.sessions[cookie]["sid"]
        support.log(updated, "s", ip, agent, details={"prompts": []})
        support.add_session(updated, sid, ip, agent, client.client_id)
        response = issue_code(params, client, user["user_id"], sid)
        response.set_cookie(cookie_name, cookie, httponly=True, samesite="lax", path="/")
        return response

    # --- token -----------------------------------------------------------------------------
    async def read_body(request: Request) -> dict:
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if "json" in ctype or raw.lstrip().startswith(b"{"):
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return {}
            return (
                {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()}
                if isinstance(data, dict)
                else {}
            )
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

    def client_auth(request: Request, body: dict) -> tuple[Client | None, Response | None]:
        cid, secret = body.get("client_id"), body.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode()
                b_id, _, b_secret = decoded.partition(":")
                b_id, b_secret = unquote(b_id), unquote(b_secret)
            except (ValueError, UnicodeDecodeError):
                return None, oauth_error(401, "access_denied", "Unauthorized")
            if cid and cid != b_id:
                return None, oauth_error(401, "access_denied", "Unauthorized")
            cid, secret = b_id, b_secret
        client = CLIENTS.get(cid or "")
        if (
            client is None
            or not secret
            or not hmac.compare_digest(client.client_secret.encode(), str(secret).encode())
        ):
            return None, oauth_error(401, "access_denied", "Unauthorized")
        return client, None

    def id_token(user: dict, client: Client, nonce: str | None, sid: str, forge: str | None = None) -> str:
        iat = now()
        claims = {
            "iss": cfg.issuer,
            "aud": client.client_id,
            "sub": user["user_id"],
            "iat": iat,
            "exp": iat + cfg.id_token_ttl,
            "sid": sid,
            "email": user.get("email"),
            "email_verified": bool(user.get("email_verified")),
            "name": user.get("name") or user.get("email"),
            "nickname": user.get("nickname") or (user.get("email") or "").split("@")[0],
            "updated_at": user.get("updated_at"),
        }
        for k in ("picture", "given_name", "family_name"):
            if user.get(k):
                claims[k] = user[k]
        if nonce:
            claims["nonce"] = nonce
        if forge:  # a test asked for a forged ID token (/__dev/faults with "id_token")
            return tenant.signer.forge(claims, forge)
        return tenant.signer.sign(claims)

    async def token(request: Request) -> Response:
        body = await read_body(request)
        grant = body.get("grant_type")
        if not grant:
            return oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
        client, problem = client_auth(request, body)
        if problem:
            return problem
        if grant == "client_credentials":
            audience = body.get("audience") or ""
            if audience != cfg.api_audience:
                return oauth_error(403, "access_denied", f"Service not found: {audience}")
            if client.management_scopes is None:
                return oauth_error(
                    403,
                    "access_denied",
                    f'Client is not authorized to access "{cfg.api_audience}". You need to create a '
                    '"client-grant" associated to this API. '
                    "See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants",
                )
            scopes = list(client.management_scopes)
            if body.get("scope"):
                asked = body["scope"].split()
                scopes = [s for s in scopes if s in asked]
            iat = now()
            claims = {
                "iss": cfg.issuer,
                "sub": f"{client.client_id}@clients",
                "aud": cfg.api_audience,
                "iat": iat,
                "exp": iat + cfg.token_ttl,
                "scope": " ".join(scopes),
                "gty": "client-credentials",
                "azp": client.client_id,
            }
            with tenant.lock:
                tenant.stats.token_grants["client_credentials"] += 1
            return JSONResponse(
                {
                    "access_token": tenant.signer.sign(claims),
                    "scope": " ".join(scopes),
                    "expires_in": cfg.token_ttl,
                    "token_type": "Bearer",
                },
                headers={"cache-control": "no-store", "pragma": "no-cache"},
            )
        if grant == "authorization_code":
            if not client.authorization_code:
                return oauth_error(
                    403, "unauthorized_client", "Grant type 'authorization_code' not allowed for the client."
                )
            code = tenant.take_code(body.get("code") or "")
            if code is None or code.expires < time.time() or code.client_id != client.client_id:
                return oauth_error(400, "invalid_grant", "Invalid authorization code")
            if (body.get("redirect_uri") or "") != code.redirect_uri:
                return oauth_error(
                    400,
                    "invalid_grant",
                    "The redirect_uri does not match the one used in the authorization request",
                )
            if code.code_challenge:
                verifier = body.get("code_verifier") or ""
                computed = pkce_s256(verifier) if code.code_challenge_method == "S256" else verifier
                if not verifier or not hmac.compare_digest(computed.encode(), code.code_challenge.encode()):
                    return oauth_error(400, "invalid_grant", "Failed to verify code verifier")
            user = tenant.store.get(code.user_id)
            if user is None:
                return oauth_error(400, "invalid_grant", "Invalid authorization code")
            if user.get("blocked"):
                return oauth_error(400, "invalid_grant", "user is blocked")
            scope = " ".join(s for s in code.scope.split() if s in OIDC_SCOPES) or "openid"
            iat = now()
            access = tenant.signer.sign(
                {
                    "iss": cfg.issuer,
                    "sub": user["user_id"],
                    "aud": [userinfo_aud],
                    "iat": iat,
                    "exp": iat + USER_ACCESS_TTL_S,
                    "scope": scope,
                    "azp": client.client_id,
                    "sid": code.sid,
                }
            )
            forge = tenant.faults.take_forgery(request.method, request.url.path)
            answer = {
                "access_token": access,
                "id_token": id_token(user, client, code.nonce, code.sid, forge),
                "scope": scope,
                "expires_in": USER_ACCESS_TTL_S,
                "token_type": "Bearer",
            }
            with tenant.lock:
                tenant.stats.token_grants["authorization_code"] += 1
            return JSONResponse(answer, headers={"cache-control": "no-store", "pragma": "no-cache"})
        return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")

    # --- userinfo --------------------------------------------------------------------------
    async def userinfo(request: Request) -> Response:
        kind, _, tok = request.headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not tok:
            return Response(
                "Unauthorized", status_code=401, headers={"www-authenticate": 'Bearer realm="devtenant"'}
            )
        try:
            claims = tenant.signer.verify(tok.strip(), userinfo_aud, cfg.issuer)
        except jwt.InvalidTokenError:
            return Response(
                "Unauthorized", status_code=401, headers={"www-authenticate": 'Bearer error="invalid_token"'}
            )
        user = tenant.store.get(claims["sub"])
        if user is None:
            return Response("Unauthorized", status_code=401)
        info = {"sub": user["user_id"]}
        for k in (
            "email",
            "email_verified",
            "name",
            "nickname",
            "given_name",
            "family_name",
            "picture",
            "updated_at",
        ):
            if k in user:
                info[k] = user[k]
        info.setdefault("name", user.get("email"))
        return JSONResponse(info)

    # --- logout ------------------------------------------------------------------------------
    def do_logout(request: Request, target: str | None, client_id: str | None, extra: dict) -> Response:
        value = request.cookies.get(cookie_name)
        if value:
            with tenant.lock:
                tenant.sessions.pop(value, None)
        client = CLIENTS.get(client_id or "")
        allowed = False
        if target:
            if client is not None:
                allowed = client.logout_allowed(target)
            else:
                allowed = any(c.logout_allowed(target) for c in CLIENTS.values())
        if target and allowed:
            response: Response = RedirectResponse(with_query(target, extra), status_code=302)
        else:
            note = ""
            if target:
                note = (
                    f"<p class='error'>The returnTo URL ({html.escape(target)}) is not in the list of "
                    "allowed logout URLs.</p>"
                )
            response = page("Logged out", f"<h1>You are logged out</h1>{note}")
        response.delete_cookie(cookie_name, path="/", httponly=True, samesite="lax")
        return response

    async def v2_logout(request: Request) -> Response:
        qp = request.query_params
        return do_logout(request, qp.get("returnTo"), qp.get("client_id"), {})

    async def oidc_logout(request: Request) -> Response:
        qp = request.query_params
        return do_logout(
            request,
            qp.get("post_logout_redirect_uri"),
            qp.get("client_id"),
            {"state": qp.get("state")} if qp.get("state") else {},
        )

    return [
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/authorize", authorize, methods=["GET"]),
        Route("/u/login", login, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/v2/logout", v2_logout, methods=["GET"]),
        Route("/oidc/logout", oidc_logout, methods=["GET", "POST"]),
    ]
