"""devtenant: a local, loopback-only, Auth0-compatible server for development and tests.

Start it with ``python -m devtenant`` (see ``--help``). It speaks the subset of Auth0's HTTP
protocol the admin app uses: OIDC sign-in (authorization code + PKCE), client credentials,
Management API v2 (users, roles, and the support desk's logs, user blocks, tickets, MFA and
sessions; see ``support_api``), the Authentication API's change-password endpoint and the reset
pages (``reset``), plus a test-control API under ``/__dev``.

This package never imports the application (``admin_core``): the app talks to it over HTTP only.
"""

__all__ = ["Config", "create_app", "serve"]


def __getattr__(name):  # lazy, so ``python -m devtenant --help`` stays fast
    if name == "Config":
        from devtenant.config import Config

        return Config
    if name in ("create_app", "serve"):
        from devtenant import server

        return getattr(server, name)
    raise AttributeError(name)
