"""Undo a delete: what is kept of a person before their delete, for how long, and how they are re-created.

Before a delete the app keeps the profile as Auth0 returned it (without identity-provider tokens), the
person's roles and their metadata in the audit database (`AuditStore.keep_deleted`), for
DELETED_PROFILE_DAYS (0 keeps nothing). Older copies are purged for good, at the process's first page load
and then at most once a day (`PurgeClock`). A person of a database connection can be re-created: a new
user with the same email, name, metadata and roles on the same connection, and a password-reset email;
social and enterprise users get a fresh profile at their next sign-in instead. No Streamlit here.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from admin_core.audit import AuditStore
from admin_core.domain import User

# Auth0's database connections (username/password) are the identities whose provider is "auth0".
DATABASE_PROVIDER = "auth0"
# Keys of an identity that hold the provider's tokens (Auth0 returns them with read:user_idp_tokens).
TOKEN_KEYS = frozenset({"access_token", "refresh_token", "access_token_secret", "id_token", "expires_in"})
PURGE_EVERY_SECONDS = 24 * 3600
# Profile fields a new user takes over (POST /api/v2/users accepts these).
COPIED_FIELDS = ("email", "email_verified", "name", "given_name", "family_name", "nickname", "picture")
NOT_RECREATABLE = (
    "{who} signed in through {connection} (a social or enterprise connection), so this app cannot re-create "
    "them: Auth0 gives them a fresh profile at their next sign-in, without the old metadata and roles."
)
NO_EMAIL = "{who} had no email address, so there is nobody to send a password-reset email to."


def strip_tokens(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile without identity-provider tokens (in `identities[]` and at the top level)."""
    clean = {k: v for k, v in profile.items() if k not in TOKEN_KEYS}
    identities = clean.get("identities")
    if isinstance(identities, list | tuple):
        clean["identities"] = [
            {k: v for k, v in identity.items() if k not in TOKEN_KEYS}
            if isinstance(identity, dict)
            else identity
            for identity in identities
        ]
    return clean


def database_connection(identities: Any) -> str | None:
    """The name of the database connection among the person's identities, if any."""
    for identity in identities or ():
        if (
            isinstance(identity, dict)
            and identity.get("provider") == DATABASE_PROVIDER
            and identity.get("connection")
        ):
            return str(identity["connection"])
    return None


def first_connection(identities: Any) -> str | None:
    for identity in identities or ():
        if isinstance(identity, dict) and identity.get("connection"):
            return str(identity["connection"])
    return None


@dataclass(frozen=True)
class KeptRole:
    role_id: str
    name: str


@dataclass(frozen=True)
class Kept:
    """One kept profile (a row of `deleted_profiles`)."""

    kept_id: int
    user_id: str
    email: str | None
    name: str | None
    connection: str | None
    deleted_at: datetime
    deleted_by: str
    profile: dict[str, Any] = field(repr=False)
    roles: tuple[KeptRole, ...] = ()
    recreated_user_id: str | None = None
    recreated_at: datetime | None = None

    @property
    def recreatable(self) -> bool:
        return self.database_connection is not None and bool(self.email) and self.recreated_user_id is None

    @property
    def database_connection(self) -> str | None:
        return database_connection(self.profile.get("identities"))

    @property
    def who(self) -> str:
        return self.email or self.name or self.user_id

    def why_not(self) -> str | None:
        """Why this person cannot be re-created here, in words (None when they can)."""
        if self.recreated_user_id is not None:
            return f"{self.who} was re-created already, as {self.recreated_user_id}."
        if self.database_connection is None:
            connection = first_connection(self.profile.get("identities")) or "another connection"
            return NOT_RECREATABLE.format(who=self.who, connection=connection)
        if not self.email:
            return NO_EMAIL.format(who=self.who)
        return None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Kept:
        roles = tuple(
            KeptRole(role_id=str(r.get("id") or ""), name=str(r.get("name") or ""))
            for r in row.get("roles") or ()
            if isinstance(r, dict)
        )
        return cls(
            kept_id=int(row["id"]),
            user_id=str(row["user_id"]),
            email=row.get("email"),
            name=row.get("name"),
            connection=row.get("connection"),
            deleted_at=row["deleted_at"],
            deleted_by=str(row["deleted_by"]),
            profile=dict(row.get("profile") or {}),
            roles=roles,
            recreated_user_id=row.get("recreated_user_id"),
            recreated_at=row.get("recreated_at"),
        )


def keep(
    store: AuditStore,
    *,
    user: User,
    roles: list[dict[str, Any]],
    deleted_by: str,
    days: int,
    request_id: str | None = None,
) -> int | None:
    """Keep the person before their delete; None when DELETED_PROFILE_DAYS is 0 (nothing is kept).

    `roles`: `[{"id": ..., "name": ...}]` as Auth0 listed them. Raises AuditError: then do not delete."""
    if days <= 0:
        return None
    profile = strip_tokens(user.profile or {})
    return store.keep_deleted(
        user_id=user.user_id,
        email=user.email,
        name=user.name,
        connection=first_connection(profile.get("identities")),
        deleted_by=deleted_by,
        profile=profile,
        roles=[{"id": str(r.get("id") or ""), "name": str(r.get("name") or "")} for r in roles],
        request_id=request_id,
    )


def kept_people(store: AuditStore) -> list[Kept]:
    return [Kept.from_row(row) for row in store.deleted_profiles()]


def kept_person(store: AuditStore, kept_id: int) -> Kept | None:
    row = store.deleted_profile(kept_id)
    return None if row is None else Kept.from_row(row)


def random_password(length: int = 32) -> str:
    """A password nobody sees (the person sets their own through the reset email); it satisfies Auth0's
    "excellent" policy: lower, upper, digits and specials, no three identical characters in a row."""
    pools = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!@#$%^&*-_=+")
    while True:
        chars = [secrets.choice(pool) for pool in pools]
        chars += [secrets.choice("".join(pools)) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        value = "".join(chars)
        if not any(value[i] == value[i + 1] == value[i + 2] for i in range(len(value) - 2)):
            return value


def create_body(kept: Kept) -> dict[str, Any]:
    """The `POST /api/v2/users` body that re-creates the person (without roles: those are assigned after).

    Raises ValueError with the reason in words when the person cannot be re-created."""
    reason = kept.why_not()
    if reason is not None:
        raise ValueError(reason)
    body: dict[str, Any] = {"connection": kept.database_connection, "password": random_password()}
    for key in COPIED_FIELDS:
        value = kept.profile.get(key)
        if value not in (None, ""):
            body[key] = value
    for key in ("user_metadata", "app_metadata"):
        value = kept.profile.get(key)
        if isinstance(value, dict) and value:
            body[key] = value
    body["email"] = kept.email
    body["verify_email"] = False  # the reset email proves the address again
    return body


def cutoff(days: int, *, now: datetime | None = None) -> datetime | None:
    """Kept profiles deleted before this are purged; None (keep nothing) purges every one."""
    if days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge(store: AuditStore, *, days: int, now: datetime | None = None) -> int:
    """Delete for good the profiles kept longer than `days` (all of them when `days` is 0)."""
    return store.purge_deleted(older_than=cutoff(days, now=now))


class PurgeClock:
    """At most one purge per PURGE_EVERY_SECONDS in a process: the first page load after start, then the
    first page load a day later (a Streamlit process has no scheduler; the pages' runs are its clock)."""

    def __init__(self, *, every: float = PURGE_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None

    def due(self) -> bool:
        """True at most once per period (the caller then purges); concurrent page loads ask once."""
        with self._lock:
            now = self._clock()
            if self._last is not None and 0 <= now - self._last < self._every:
                return False
            self._last = now
            return True
