"""The dev tenant's fixed applications (dev only: these secrets are public and in the README).

=================  ======================  ===========================================================
client_id          client_secret           what it can do
=================  ======================  ===========================================================
dashboard          dashboard-secret        The admin app. Authorization code (+ PKCE S256) with any
                                           ``http://localhost:<port>/...`` or ``http://127.0.0.1:<port>/...``
                                           redirect URI; token endpoint auth client_secret_basic or
                                           client_secret_post. Client credentials for the Management
                                           API with ``read:users update:users delete:users read:roles
                                           read:logs read:logs_users create:user_tickets
                                           read:authentication_methods delete:guardian_enrollments
                                           read:sessions delete:sessions delete:refresh_tokens
                                           read:connections read:connections_options create:users``.
narrow-m2m         narrow-secret           Like dashboard (authorization code too), but its Management
                                           API grant has only ``read:users update:users delete:users
                                           read:roles``: the support-desk calls that need more answer
                                           403 insufficient_scope ("missing scope" tests).
readonly-m2m       readonly-secret         Client credentials only, scope ``read:users`` (403 tests).
logs-only-m2m      logs-only-secret        Client credentials only, scope ``read:logs``: no scope that
                                           reads a user's roles (``read:users read:roles
                                           read:role_members``, any one would do), so the sign-in
                                           gate's first call answers 403 insufficient_scope.
no-grant           no-grant-secret         Authorization code like dashboard, but no Management API
                                           grant: client credentials answers 403 access_denied.
fixed-callback     fixed-callback-secret   Like dashboard, but its only allowed callback is
                                           ``https://admin.example.com/component/streamlit_oauth.authorize_button/index.html``.
=================  ======================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from devtenant.scopes import DASHBOARD_SCOPES, NARROW_SCOPES

MANAGEMENT_SCOPES = DASHBOARD_SCOPES
FIXED_CALLBACK = "https://admin.example.com/component/streamlit_oauth.authorize_button/index.html"


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    name: str
    authorization_code: bool
    management_scopes: tuple[str, ...] | None  # None: no client grant for the Management API
    callbacks: tuple[str, ...] | None = None  # None: any http://localhost|127.0.0.1:<port>/...

    def redirect_allowed(self, uri: str) -> bool:
        if not uri:
            return False
        if self.callbacks is not None:
            return uri in self.callbacks
        try:
            parts = urlsplit(uri)
            _ = parts.port  # raises on a bad port
        except ValueError:
            return False
        return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1") and not parts.username

    def logout_allowed(self, uri: str) -> bool:
        try:
            parts = urlsplit(uri)
            _ = parts.port
        except ValueError:
            return False
        if self.callbacks is not None and uri in self.callbacks:
            return True
        return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1")


CLIENTS: dict[str, Client] = {
    c.client_id: c
    for c in (
        Client("dashboard", "dashboard-secret", "User Dashboard", True, MANAGEMENT_SCOPES),
        Client("narrow-m2m", "narrow-secret", "Narrow Grant App", True, NARROW_SCOPES),
        Client("logs-only-m2m", "logs-only-secret", "Logs-only M2M", False, ("read:logs",)),
        Client("readonly-m2m", "readonly-secret", "Read-only M2M", False, ("read:users",)),
        Client("no-grant", "no-grant-secret", "No Grant App", True, None),
        Client(
            "fixed-callback",
            "fixed-callback-secret",
            "Fixed Callback App",
            True,
            MANAGEMENT_SCOPES,
            (FIXED_CALLBACK,),
        ),
    )
}
