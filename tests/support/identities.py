"""A signed-in person as the session layer sees them, built from a dev-tenant account, for tests that call
`admin_core.actions` and `runtime` without a page."""

from __future__ import annotations

import time

from admin_core.auth import Identity, Role


def identity_of(tenant, email: str, role: Role = Role.ADMIN) -> Identity:
    """The dev tenant's account with this email, signed in with `role` for the next hour."""
    user = next(u for u in tenant.users() if u.get("email") == email)
    return Identity(
        sub=user["user_id"], email=user["email"], name=user.get("name"), picture=None,
        expires_at=int(time.time()) + 3600, role=role,
    )  # fmt: skip
