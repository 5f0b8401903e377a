"""What a metadata save costs (issue 16): the stale check's read of the person and the PATCH, then their page."""

from __future__ import annotations

import time

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.metadata import prepare
from bench.env import Counter, clear_app_caches, measure, summary

STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}


def metadata_save_cost(tenant, *, rounds: int = 5) -> dict:
    """`actions.save_metadata` on `rounds` people, each with their page read first (as an admin has it).

    The save is the stale check's `GET /users/{id}` (the one person read again) and the `PATCH`; "refetch" is
    `runtime.person_file` after it, the person's page drawn again: 0 requests, as the PATCH's answer is kept
    as their user and a metadata save changes none of their other sections. The actor's own check
    (`actor_standing`, cached 60 s) is made once before, so it is not counted in any round.
    """
    counter = Counter(tenant)
    clear_app_caches()
    admin = next(u for u in tenant.users() if u.get("email") == "admin@example.com")
    identity = Identity(
        sub=admin["user_id"], email=admin["email"], name=admin.get("name"), picture=None,
        expires_at=int(time.time()) + 3600, role=Role.ADMIN,
    )  # fmt: skip
    runtime.get_directory().actor_standing(identity.sub)
    people = [u["user_id"] for u in tenant.users() if u.get("email") not in STAFF][:rounds]
    saves, refetches = [], []
    for user_id in people:
        user = runtime.person_file(user_id).user
        edit = prepare("user_metadata", shown=user.user_metadata, text='{"bench": true}')
        saves.append(
            measure(counter, lambda u=user, e=edit: actions.save_metadata(identity=identity, user=u, edit=e))
        )
        refetches.append(measure(counter, lambda u=user_id: runtime.person_file(u)))
    return {
        "save": {"requests": max(m.requests for m in saves), **summary([m.seconds for m in saves])},
        "refetch": {
            "requests": max(m.requests for m in refetches),
            **summary([m.seconds for m in refetches]),
        },
        "save_detail": saves[0].detail,
        "refetch_detail": refetches[0].detail,
    }
