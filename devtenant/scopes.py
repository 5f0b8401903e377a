"""The Management API scopes each dev-tenant route accepts: any one of them will do, as in Auth0.

Copied from Auth0's OpenAPI document (``security[].oAuth2ClientCredentials`` of each operation);
``tests/devtenant/test_openapi.py`` checks this table against it.
"""

from __future__ import annotations

SCOPES: dict[str, tuple[str, ...]] = {
    "GET /users": ("read:users", "read:user_idp_tokens"),
    "GET /users-by-email": ("read:users",),
    "GET /users/{id}": ("read:users", "read:current_user", "read:user_idp_tokens"),
    "PATCH /users/{id}": ("update:users", "update:users_app_metadata", "update:current_user_metadata"),
    "DELETE /users/{id}": ("delete:users", "delete:current_user"),
    "GET /users/{id}/roles": ("read:users", "read:roles", "read:role_members"),
    "GET /roles": ("read:roles",),
    "GET /roles/{id}": ("read:roles",),
    "GET /roles/{id}/users": ("read:users", "read:roles", "read:role_members"),
    "GET /users/{id}/logs": ("read:logs", "read:logs_users"),
    "GET /user-blocks/{id}": ("read:users",),
    "DELETE /user-blocks/{id}": ("update:users",),
    "POST /tickets/password-change": ("create:user_tickets",),
    "POST /jobs/verification-email": ("update:users",),
    "GET /users/{id}/authentication-methods": ("read:authentication_methods",),
    "GET /users/{id}/enrollments": ("read:users", "read:current_user"),
    "DELETE /users/{id}/authenticators": ("delete:guardian_enrollments",),
    "POST /users/{id}/multifactor/actions/invalidate-remember-browser": ("update:users",),
    "GET /users/{user_id}/sessions": ("read:sessions",),
    "DELETE /users/{user_id}/sessions": ("delete:sessions",),
    "DELETE /users/{user_id}/refresh-tokens": ("delete:refresh_tokens",),
    "POST /users/{id}/roles": ("update:users", "create:role_members"),
    "DELETE /users/{id}/roles": ("update:users", "delete:role_members"),
    "GET /connections": ("read:connections",),
    "POST /users": ("create:users",),
    "POST /jobs/users-exports": ("read:users",),
    "GET /jobs/{id}": ("create:users", "read:users"),
}

# What the `dashboard` client is granted: one scope per route is enough, these are the usual ones.
DASHBOARD_SCOPES = (
    "read:users",
    "update:users",
    "delete:users",
    "read:roles",
    "read:logs",
    "read:logs_users",
    "create:user_tickets",
    "read:authentication_methods",
    "delete:guardian_enrollments",
    "read:sessions",
    "delete:sessions",
    "delete:refresh_tokens",
    "read:connections",
    "read:connections_options",
    "create:users",
)
NARROW_SCOPES = ("read:users", "update:users", "delete:users", "read:roles")
