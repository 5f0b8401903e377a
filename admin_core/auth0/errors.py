"""SDK and transport errors -> the domain errors of `admin_core.errors`, each with a message for the admin.

A person reads a sentence about what happened and what to do; the technical detail (an exception's class
and text) goes to the server log, never onto the page.
"""

from __future__ import annotations

import json
import logging
import re

import httpx
from auth0.authentication.exceptions import Auth0Error
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError

from admin_core.domain import search_cap_message
from admin_core.errors import (
    AdminError,
    BadQuery,
    ConfigError,
    PermissionDenied,
    RateLimited,
    SearchCapReached,
    Unreachable,
    UserGone,
)
from admin_core.support import GRANT_PLACE

log = logging.getLogger(__name__)

UNREADABLE = "Auth0 sent an answer the app could not read. Try again in a moment."


def _body(exc: ApiError) -> dict:
    body = exc.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {"message": body}
    return body if isinstance(body, dict) else {}


def translate(exc: BaseException) -> AdminError:
    """Turn an SDK or transport error into the domain error the page shows."""
    if isinstance(exc, AdminError):
        return exc
    if isinstance(exc, ApiError):
        return _from_status(exc)
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable("Auth0 did not answer in time. Try again in a moment.")
    if isinstance(exc, httpx.HTTPError):
        log.warning("Management API request failed: %r", exc)
        return Unreachable("Could not reach Auth0. Check your network and AUTH0_DOMAIN, then try again.")
    if isinstance(exc, ParsingError | ValueError):
        log.warning("Management API answer could not be read: %r", exc)
        return Unreachable(UNREADABLE)
    log.error("Management API call failed unexpectedly", exc_info=exc)
    return Unreachable("Talking to Auth0 failed unexpectedly. Try again in a moment.")


def _from_status(exc: ApiError) -> AdminError:
    status = exc.status_code or 0
    body = _body(exc)
    message = str(body.get("message") or "").strip()
    code = str(body.get("errorCode") or "")
    if 200 <= status < 300:  # the SDK could not parse a successful answer
        log.warning("Management API answer (HTTP %s) could not be read: %r", status, exc)
        return Unreachable(UNREADABLE)
    if status == 401:
        return ConfigError(
            "Auth0 did not accept the app's Management API token. Check AUTH0_MGMT_CLIENT_ID / "
            f"AUTH0_MGMT_CLIENT_SECRET and AUTH0_DOMAIN. (Auth0 said: {message or 'Unauthorized'})"
        )
    if status == 403:
        return missing_scope(message)
    if status == 404:
        return UserGone(
            "That user no longer exists in Auth0 (already deleted?). The list has been refreshed."
        )
    if status == 429:
        return RateLimited.from_reset((exc.headers or {}).get("x-ratelimit-reset"))
    if status == 400 and code == "invalid_paging":
        return SearchCapReached(search_cap_message())
    if status == 400:
        return BadQuery(f"Auth0 could not understand that search: {message or 'invalid query'}")
    if status == 409:
        return Unreachable(
            f"Auth0 reported a conflict ({message or 'the user changed meanwhile'}). Reload and try again."
        )
    if status >= 500:
        return Unreachable(f"Auth0 is having trouble right now (HTTP {status}). Try again in a moment.")
    return Unreachable(f"Auth0 answered with an unexpected error (HTTP {status}): {message or 'no detail'}")


# The app's Management API grant: what every page needs, and what the support desk's sections and fixes add
# (each optional: without one, only the section or fix that needs it says so).
REQUIRED_SCOPES = ("read:users", "update:users", "delete:users", "read:roles")
SUPPORT_SCOPES = (
    "read:logs",
    "read:logs_users",
    "create:user_tickets",
    "read:authentication_methods",
    "delete:guardian_enrollments",
    "read:sessions",
    "delete:sessions",
    "delete:refresh_tokens",
)

# "Insufficient scope, expected any of: read:users", "Insufficient scope; expected any of: read:logs,
# read:logs_users.", "Insufficient scope; expected: delete:sessions": Auth0 words it several ways.
_EXPECTED = re.compile(r"expected(?: any of)?\s*:\s*(?P<scopes>.*)$", re.IGNORECASE)


def scopes_in(message: str) -> list[str]:
    """The scopes a 403 message says are expected (any one of them is enough), in Auth0's order."""
    found = _EXPECTED.search(message)
    if not found:
        return []
    return [s for s in re.split(r"[\s,]+", found.group("scopes").strip().rstrip(".")) if ":" in s]


def missing_scope(message: str) -> PermissionDenied:
    """A 403: which scope the app's grant lacks (the first Auth0 names), and where to add it."""
    needed = scopes_in(message)
    if len(needed) == 1:
        scope_text = f" It needs the scope {needed[0]}."
    elif needed:
        scope_text = f" It needs one of the scopes {', '.join(needed)}."
    else:
        scope_text = ""
    return PermissionDenied(
        "The app's Management API grant is missing a permission for this."
        + scope_text
        + f" Add it to the app's grant in the Auth0 {GRANT_PLACE}.",
        scope=needed[0] if needed else None,
    )


def token_error(exc: Auth0Error, *, client_id: str, audience: str) -> AdminError:
    """Auth0 refused the client-credentials token request: which setting or grant to fix."""
    status = getattr(exc, "status_code", None)
    text = f"{exc.error_code}: {exc.message}".lower()
    if status == 401 or "unauthorized" in text or "invalid_client" in text:
        return ConfigError(
            "Auth0 refused the app's client credentials for the Management API. Check "
            "AUTH0_MGMT_CLIENT_SECRET (or AUTH0_CLIENT_SECRET when no separate Management API client is set) "
            f"against the client secret of application {client_id} in the Auth0 Dashboard."
        )
    if status == 403 and "service not found" in text:
        return ConfigError(
            f"Auth0 does not know the API {audience}: check AUTH0_DOMAIN (use the tenant's own "
            "*.auth0.com domain, not a custom domain)."
        )
    if status == 403:
        return ConfigError(
            f"Application {client_id} is not authorized for the Auth0 Management API. In the Auth0 Dashboard "
            "open Applications > APIs > Auth0 Management API > Machine To Machine Applications, authorize "
            f"it and grant {' '.join(REQUIRED_SCOPES)} (and for the support desk {' '.join(SUPPORT_SCOPES)})."
        )
    if status == 429:
        return RateLimited.from_reset((exc.headers or {}).get("x-ratelimit-reset") if exc.headers else None)
    return Unreachable(f"Auth0 could not issue a Management API token ({status}: {exc.message}). Try again.")


def token_unreachable(exc: BaseException) -> Unreachable:
    """The token request never got an answer (connection error, timeout, bad JSON)."""
    log.warning("Management API token request failed: %r", exc)
    return Unreachable(
        "Could not reach Auth0 to get a Management API token. Check AUTH0_DOMAIN and your network, "
        "then try again."
    )
