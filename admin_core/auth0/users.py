"""Users through the Management API: listing, one user, roles, a person's standing, block and delete.

It speaks the domain (`User`, `UserPage`, `Directory.delete_user(actor_sub=..., user_id=...)`); every SDK
or transport error leaves it as one of the errors of `admin_core.errors` (see `admin_core.auth0.errors`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from auth0.management.core.api_error import ApiError

from admin_core.auth0.client import ClientCredentialsToken, RateLimitGate, management_api
from admin_core.auth0.errors import translate
from admin_core.domain import (
    PAGE_SIZES,
    SEARCH_CAP,
    SORTS,
    SearchPage,
    Standing,
    User,
    UserPage,
    UserQuery,
    search_cap_message,
)
from admin_core.errors import NotAllowed, RateLimited, SearchCapReached, Unreachable, UserGone

# How long a change made here overrides Auth0's search results, which are eventually consistent.
RECENT_CHANGE_SECONDS = 120.0
# How long an actor's standing (blocked flag and roles, read before a change) is trusted before Auth0 is
# asked again: a demoted or blocked admin can make changes for at most this long.
STANDING_TTL_SECONDS = 60.0

T = TypeVar("T")


def user_from_sdk(model: Any) -> User:
    """The domain `User` from the SDK's pydantic user model (every field Auth0 sent kept in `profile`)."""
    data = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    native = model.model_dump(exclude_none=True)

    def when(key: str) -> datetime | None:
        value = native.get(key)
        return value if isinstance(value, datetime) else None

    count = data.get("logins_count")
    return User(
        user_id=str(data.get("user_id", "")),
        email=data.get("email"),
        email_verified=data.get("email_verified"),
        name=data.get("name"),
        nickname=data.get("nickname"),
        given_name=data.get("given_name"),
        family_name=data.get("family_name"),
        picture=data.get("picture"),
        created_at=when("created_at"),
        updated_at=when("updated_at"),
        last_login=when("last_login"),
        logins_count=int(count) if isinstance(count, int | float) else None,
        last_ip=data.get("last_ip"),
        blocked=bool(data.get("blocked", False)),
        identities=tuple(i for i in data.get("identities") or () if isinstance(i, dict)),
        app_metadata=data.get("app_metadata") or {},
        user_metadata=data.get("user_metadata") or {},
        profile=data,
    )


class Directory:
    """Users and roles of one Auth0 tenant, through the Management API."""

    def __init__(
        self,
        *,
        api_url: str,
        token: ClientCredentialsToken,
        timeout: float,
        max_retries: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._token = token
        # The process-wide pacer for this tenant's Management API, fed by every response's rate headers.
        self._rate_gate = RateLimitGate()
        self._api = management_api(
            api_url=api_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            gate=self._rate_gate,
        )
        self._changes_lock = threading.Lock()
        # user_id -> (monotonic time, the user after our change or None when we deleted it)
        self._recent: dict[str, tuple[float, User | None]] = {}
        # actor user_id -> (clock() when Auth0 was asked, what it said); see actor_standing
        self._clock = clock
        self._standing: dict[str, tuple[float, Standing]] = {}
        self._standing_locks: dict[str, threading.Lock] = {}
        self._standing_forgotten: dict[str, int] = {}  # user_id -> times forget_standing was called

    @classmethod
    def from_settings(cls, settings: Any, *, clock: Callable[[], float] = time.monotonic) -> Directory:
        token = ClientCredentialsToken(
            base_url=settings.auth0_url,
            client_id=settings.mgmt_client_id,
            client_secret=settings.mgmt_client_secret,
            audience=settings.management_audience,
            timeout=settings.timeout_seconds,
        )
        return cls(
            api_url=settings.management_api_url,
            token=token,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
            clock=clock,
        )

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one SDK call; on 401 fetch one fresh token and retry once (never a loop)."""
        try:
            return fn()
        except ApiError as exc:
            if exc.status_code != 401:
                raise translate(exc) from None
        except Exception as exc:
            raise translate(exc) from None
        self._token.invalidate()
        try:
            return fn()
        except Exception as exc:
            raise translate(exc) from None

    def call_api(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(sdk_client)` as one Management API call of this directory (errors translated, one fresh
        token after a 401): how `admin_core.auth0.support` reaches the endpoints it wraps."""
        return self._call(lambda: fn(self._api))

    # reads

    def warm_token(self) -> None:
        """Have the client-credentials token ready (one grant per process, as any first call would)."""
        self._token()

    def list_users(self, query: UserQuery) -> UserPage:
        """One page, one request: `GET /api/v2/users` with totals, as Auth0 intends."""
        if query.per_page not in PAGE_SIZES:
            raise ValueError(f"per_page must be one of {PAGE_SIZES}")
        if query.page < 0 or query.page * query.per_page >= SEARCH_CAP:
            raise SearchCapReached(search_cap_message())
        sort = SORTS.get(query.sort, SORTS["last_login"])[0]

        def fetch():
            return self._api.users.list(
                page=query.page,
                per_page=query.per_page,
                include_totals=True,
                sort=sort,
                q=query.q,
                search_engine="v3" if query.q else None,
            )

        pager = self._call(fetch)
        users = tuple(user_from_sdk(item) for item in (pager.items or ()))
        total = int(getattr(pager.response, "total", None) or len(users))
        return UserPage(users=users, total=total, page=query.page, per_page=query.per_page)

    def get_user(self, user_id: str) -> User:
        return user_from_sdk(self._call(lambda: self._api.users.get(user_id)))

    def role_names(self, user_id: str) -> list[str]:
        """Names of the roles assigned to a user (first 100; an admin tool's staff have a handful)."""
        pager = self._call(lambda: self._api.users.roles.list(user_id, per_page=100, include_totals=True))
        return [role.name for role in (pager.items or ()) if getattr(role, "name", None)]

    def actor_standing(self, user_id: str) -> Standing:
        """The person's `blocked` flag and role names, as Auth0 has them now: asked before every change.

        Two requests (`GET /users/{id}`, `GET /users/{id}/roles`), then none for the same person for
        STANDING_TTL_SECONDS (process-wide, shared by every session). One lookup at a time per person, so
        concurrent changes by one admin ask once. Raises UserGone when the account was deleted, and the
        other AdminErrors when Auth0 cannot say; a failed lookup is never cached.
        """
        with self._changes_lock:
            lock = self._standing_locks.setdefault(user_id, threading.Lock())
        with lock:
            asked_at = self._clock()
            with self._changes_lock:
                cached = self._standing.get(user_id)
                forgotten = self._standing_forgotten.get(user_id, 0)
            if cached is not None and 0 <= asked_at - cached[0] < STANDING_TTL_SECONDS:
                return cached[1]
            user = self.get_user(user_id)
            standing = Standing(blocked=user.blocked, role_names=tuple(self.role_names(user_id)))
            with self._changes_lock:
                # Not kept when the account was changed here meanwhile: the answer may predate the change.
                if self._standing_forgotten.get(user_id, 0) == forgotten:
                    self._standing[user_id] = (asked_at, standing)
            return standing

    def forget_standing(self, user_id: str) -> None:
        """A change made here to a person's account: their next change asks Auth0 again."""
        with self._changes_lock:
            self._standing.pop(user_id, None)
            if user_id in self._standing_locks:  # only people who ever made a change are tracked
                self._standing_forgotten[user_id] = self._standing_forgotten.get(user_id, 0) + 1

    def forget_all_standing(self) -> None:
        """Another instance may have changed anyone (its announcements were missed): ask Auth0 again."""
        with self._changes_lock:
            for user_id in list(self._standing):
                self._forget_standing_locked(user_id)

    def _forget_standing_locked(self, user_id: str) -> None:
        self._standing.pop(user_id, None)
        if user_id in self._standing_locks:
            self._standing_forgotten[user_id] = self._standing_forgotten.get(user_id, 0) + 1

    def note_deleted(self, user_id: str) -> None:
        """Another instance deleted this person: hide them from lagging search results here too."""
        self._remember(user_id, None)

    # changes

    def set_blocked(self, *, actor_sub: str, user_id: str, blocked: bool) -> User:
        self._refuse_self(actor_sub, user_id, "block" if blocked else "unblock")
        user = user_from_sdk(self._call(lambda: self._api.users.update(user_id, blocked=blocked)))
        self._remember(user_id, user)
        return user

    def set_email_verified(self, *, user_id: str) -> User:
        """`PATCH /api/v2/users/{id}` with `email_verified: true` (an admin vouches for the address)."""
        user = user_from_sdk(self._call(lambda: self._api.users.update(user_id, email_verified=True)))
        self._remember(user_id, user)
        return user

    def delete_user(self, *, actor_sub: str, user_id: str) -> None:
        """Delete once: Auth0 answers 204 even for an absent user, so two admins deleting the same person
        at the same moment would both be told "deleted". admin_core.actions claims the person in the audit
        database first (admin_core.claims: one change per person across every instance); here a person
        this process knows was just deleted (by it, or announced by another instance) is not sent again."""
        self._refuse_self(actor_sub, user_id, "delete")
        if self._recently_deleted(user_id):
            raise UserGone(
                "That user was just deleted (by you or another admin). The list has been refreshed."
            )
        try:
            answer = self._call(lambda: self._api.users.with_raw_response.delete(user_id))
            if answer.status_code != 204:
                # Auth0 answers a deletion with 204 and no body; anything else is not a confirmation.
                raise Unreachable(
                    f"Auth0 answered the deletion unexpectedly (HTTP {answer.status_code}), so it is not "
                    "confirmed. Reload the list to see whether the user is still there."
                )
        except UserGone:
            self._remember(user_id, None)
            raise
        self._remember(user_id, None)

    def _recently_deleted(self, user_id: str) -> bool:
        with self._changes_lock:
            at, user = self._recent.get(user_id, (None, None))
            return at is not None and user is None and time.monotonic() - at <= RECENT_CHANGE_SECONDS

    @staticmethod
    def _refuse_self(actor_sub: str, user_id: str, verb: str) -> None:
        if not actor_sub:
            raise NotAllowed("Only a signed-in admin can change users.")
        if actor_sub == user_id:
            raise NotAllowed(f"You cannot {verb} your own account. Ask another admin.")

    # eventual consistency

    def _remember(self, user_id: str, user: User | None) -> None:
        with self._changes_lock:
            now = time.monotonic()
            self._recent[user_id] = (now, user)
            for key in [k for k, (at, _) in self._recent.items() if now - at > RECENT_CHANGE_SECONDS]:
                del self._recent[key]

    def overlay(self, page: UserPage) -> UserPage:
        """Apply our own recent changes to a (possibly cached, possibly lagging) page of search results."""
        with self._changes_lock:
            now = time.monotonic()
            recent = {k: u for k, (at, u) in self._recent.items() if now - at <= RECENT_CHANGE_SECONDS}
        if not recent or not any(u.user_id in recent for u in page.users):
            return page
        users = []
        for user in page.users:
            if user.user_id not in recent:
                users.append(user)
            elif (changed := recent[user.user_id]) is not None:
                users.append(changed)
        removed = len(page.users) - len(users)
        return UserPage(
            users=tuple(users), total=max(0, page.total - removed), page=page.page, per_page=page.per_page
        )

    def paced(self, fn: Callable[[], T]) -> T:
        """Run `fn` (Management API calls of this directory). Every HTTP request waits on the rate gate in
        the client's transport (admin_core.auth0.client), so requests issued together (the person's page,
        a bulk job's pool) stay within what Auth0 last reported; this name stays for its callers."""
        return fn()

    # --- paced searches (the Overview page's figures) -------------------------------------------------

    def rate_gate(self) -> RateLimitGate:
        """The pacer of `search_page`, fed by the rate headers of every response this directory gets."""
        return self._rate_gate

    def search_page(
        self,
        q: str | None,
        *,
        page: int = 0,
        per_page: int = 100,
        sort: str | None = None,
        fields: str | None = None,
        rate_limit_retries: int = 6,
    ) -> SearchPage:
        """One page of a search with its `total`, paced by the rate gate; 429s are waited out.

        The SDK's own retries are off for this call (they would bypass the gate); a 429 waits for
        `x-ratelimit-reset` and tries again, up to `rate_limit_retries` times. Other errors are raised.
        """
        if not 1 <= per_page <= 100:
            raise ValueError("per_page must be between 1 and 100")
        if page < 0 or page * per_page >= SEARCH_CAP:
            raise SearchCapReached(search_cap_message())
        gate = self.rate_gate()

        def fetch():
            return self._api.users.list(
                page=page,
                per_page=per_page,
                include_totals=True,
                sort=sort,
                q=q,
                search_engine="v3" if q else None,
                fields=fields,
                include_fields=True if fields else None,
                request_options={"max_retries": 0},
            )

        attempt = 0
        while True:
            try:
                pager = self._call(fetch)  # paced request by request by the client's transport
            except RateLimited as exc:
                attempt += 1
                gate.penalize(exc.retry_at.timestamp() if exc.retry_at else None)
                if attempt > rate_limit_retries:
                    raise
                continue
            users = tuple(user_from_sdk(item) for item in (pager.items or ()))
            total = getattr(pager.response, "total", None)
            return SearchPage(users=users, total=int(total) if total is not None else len(users))
