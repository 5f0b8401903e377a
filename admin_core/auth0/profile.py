"""Saving a person's metadata and profile: `PATCH /api/v2/users/{id}`, refused on a stale copy.

Auth0 has no conditional PATCH (no ETag, no If-Match), so a save made on a copy that changed meanwhile
would silently overwrite the other admin's change. Before each save the user is read again
(`GET /api/v2/users/{id}`) and its `updated_at` compared with the copy the admin opened; read and PATCH
happen under one lock per person, so two saves in this app process cannot both pass the check. Two app
processes (replicas) can still interleave in the few milliseconds between the read and the PATCH.
"""

from __future__ import annotations

import threading
from typing import Any

from admin_core.auth0.users import Directory, user_from_sdk
from admin_core.domain import User
from admin_core.errors import BadQuery, NotAllowed
from admin_core.metadata import STALE, StaleCopy

_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def _lock_for(user_id: str) -> threading.Lock:
    with _guard:
        if len(_locks) > 10_000:  # people edited in this process; the locks are only for concurrent saves
            for key in [k for k, lock in _locks.items() if not lock.locked()]:
                del _locks[key]
        return _locks.setdefault(user_id, threading.Lock())


class ProfileEditor:
    """One tenant's profile and metadata saves, on the Directory's Management API client and token."""

    def __init__(self, directory: Directory):
        self._directory = directory

    def save(self, *, user: User, body: dict[str, Any]) -> User:
        """PATCH `body` onto the person if Auth0 still has the copy `user` (same `updated_at`).

        Two requests: the re-read, then the PATCH. Raises StaleCopy (nothing sent) when the person changed
        since `user` was read; Auth0's refusal of the body comes back as NotAllowed with Auth0's message."""
        if not body:
            raise NotAllowed("Nothing to save: the values are the same as in Auth0.")
        user_id = user.user_id
        with _lock_for(user_id):
            now = self._directory.get_user(user_id)
            if now.updated_at != user.updated_at:
                raise StaleCopy(STALE.format(who=user.email or user.name or user_id), current=now)
            try:
                answer = self._directory.call_api(lambda api: api.users.update(user_id, **body))
            except BadQuery as exc:  # a 400: Auth0 refused the body; its own words, after ours
                detail = exc.message.split(": ", 1)[-1]
                raise NotAllowed(f"Auth0 refused the change: {detail}") from None
            saved = user_from_sdk(answer)
        self._directory._remember(user_id, saved)  # the listing shows the change before search catches up
        return saved
