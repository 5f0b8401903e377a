"""What a role change costs (issue 16): the change itself, then the refetch of the one person whose page it
was made on; the listing is not read again (it is only marked stale, read when next shown).

Measured through `admin_core.actions` as the page calls them, against the dev tenant: the admin's own check
with Auth0 is cached for a minute (`STANDING_TTL_SECONDS`), so it is warmed first and reported apart.
"""

from __future__ import annotations

import time

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from bench.env import Counter, clear_app_caches, measure, summary

LISTING = "GET /api/v2/users"


def role_change_cost(tenant, *, rounds: int = 5) -> dict:
    """Median over `rounds` people of: add a role (`POST /users/{id}/roles`), then `person_file` again; and
    the same for a removal. Requests are the dev tenant's counts; the actor check is warmed beforehand."""
    counter = Counter(tenant)
    clear_app_caches()
    staff = {"admin@example.com", "viewer@example.com", "staff@example.com"}
    users = tenant.users()
    admin = next(u for u in users if u.get("email") == "admin@example.com")
    identity = Identity(
        sub=admin["user_id"],
        email=admin["email"],
        name=admin.get("name"),
        picture=None,
        expires_at=int(time.time()) + 3600,
        role=Role.ADMIN,
    )
    people = [u["user_id"] for u in users if u.get("email") not in staff][:rounds]
    directory = runtime.get_directory()
    actor_check = measure(counter, lambda: directory.actor_standing(identity.sub))
    role = next(r for r in runtime.role_catalogue().roles if r.name == "Support Agent")
    out: dict = {"actor_check_requests": actor_check.requests}
    for name, change in (
        ("add", lambda user: actions.add_roles(identity=identity, user=user, roles=[role])),
        ("remove", lambda user: actions.remove_role(identity=identity, user=user, role=role)),
    ):
        changes, refetches, listings = [], [], 0
        for user_id in people:
            file = runtime.person_file(user_id)  # the page is open (warm) when the admin clicks
            done = measure(counter, lambda f=file, c=change: c(f.user))
            again = measure(counter, lambda u=user_id: runtime.person_file(u))
            listings += done.detail["requests"].get(LISTING, 0) + again.detail["requests"].get(LISTING, 0)
            changes.append(done)
            refetches.append(again)
        out[name] = {
            "change": {"requests": max(m.requests for m in changes), **summary([m.seconds for m in changes])},
            "refetch": {
                "requests": max(m.requests for m in refetches),
                **summary([m.seconds for m in refetches]),
            },
            "total": summary([c.seconds + r.seconds for c, r in zip(changes, refetches, strict=True)]),
            "listing_requests": listings,
            "change_detail": changes[0].detail,
        }
    return out
