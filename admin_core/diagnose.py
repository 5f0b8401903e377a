"""Plain-words diagnoses of a tenant configured wrong: what is wrong and what to change in Auth0."""

from __future__ import annotations

import logging
from urllib.parse import unquote

import httpx

from admin_core.settings import Settings

log = logging.getLogger(__name__)


def callback_problem(settings: Settings, redirect_uri: str) -> str | None:
    """Ask the tenant's /authorize whether it accepts this app's callback URL, before a popup hides the answer.

    Auth0 shows a "Callback URL mismatch" page inside the popup, where the app cannot read it and the
    popup never comes back. One anonymous request tells us first. None when all is well or unknown.
    """
    params = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": "configuration-check",
    }
    try:
        answer = httpx.get(
            settings.authorize_endpoint,
            params=params,
            timeout=settings.timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        log.warning("could not check the callback URL with Auth0: %s", exc)
        return None
    text = answer.text.lower() if answer.status_code >= 400 else ""
    location = unquote(answer.headers.get("location", "")).lower()
    if "callback url mismatch" in text or ("callback" in location and "mismatch" in location):
        return (
            f"Auth0 does not accept this app's callback URL {redirect_uri}. In the Auth0 Dashboard open "
            f"Applications > Applications > (the application with Client ID {settings.client_id}) > Settings "
            "and add it to Allowed Callback URLs; also check APP_URL."
        )
    if answer.status_code >= 400 and ("unknown client" in text or "invalid_client" in text):
        return (
            f"Auth0 does not know the application {settings.client_id}: check AUTH0_CLIENT_ID and AUTH0_DOMAIN "
            "against the application's Settings page in the Auth0 Dashboard."
        )
    return None


def sign_in_exchange_problem(status: int | None, error: str, description: str) -> str:
    """The message for a failed code exchange at /oauth/token."""
    text = f"{error} {description}".lower()
    if status == 401 or "unauthorized" in text or "invalid_client" in text:
        return (
            "Sign-in failed: Auth0 refused the app's client secret. Check AUTH0_CLIENT_SECRET against the "
            "application's Client Secret in the Auth0 Dashboard (Applications > Settings)."
        )
    if "redirect_uri" in text or "callback" in text:
        return f"Sign-in failed: Auth0 rejected the callback URL ({description or error}). Check APP_URL."
    return f"Sign-in failed: Auth0 did not accept the sign-in ({description or error or status}). Try again."
