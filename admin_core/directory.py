"""The only module that talks to the Auth0 Management API (through the official auth0-python SDK).

It speaks the domain (`User`, `UserPage`, `Directory.delete_user(actor_sub=..., user_id=...)`) and turns
SDK and transport errors into the few errors of `admin_core.errors`, each with a message for the admin.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError

from admin_core.errors import (
    AdminError,
    BadQuery,
    ConfigError,
    NotAllowed,
    PermissionDenied,
    RateLimited,
    SearchCapReached,
    Unreachable,
    UserGone,
)

SEARCH_CAP = 1000  # Auth0 pages through the first 1000 results of any search, no further.
PAGE_SIZES = (24, 50, 100)
SORTS = {
    "last_login": ("last_login:-1", "Last login (newest first)"),
    "created": ("created_at:-1", "Created (newest first)"),
    "name": ("name:1", "Name (A-Z)"),
    "email": ("email:1", "Email (A-Z)"),
}
# How long a change made here overrides Auth0's search results, which are eventually consistent.
RECENT_CHANGE_SECONDS = 120.0
# How long an actor's standing (blocked flag and roles, read before a change) is trusted before Auth0 is
# asked again: a demoted or blocked admin can make changes for at most this long.
STANDING_TTL_SECONDS = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """One Auth0 user, as the pages need it."""

    user_id: str
    email: str | None = None
    email_verified: bool | None = None
    name: str | None = None
    nickname: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    picture: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_login: datetime | None = None
    logins_count: int | None = None
    last_ip: str | None = None
    blocked: bool = False
    identities: tuple[dict, ...] = ()
    app_metadata: dict = field(default_factory=dict)
    user_metadata: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)  # every field Auth0 sent, JSON-ready, for the detail view

    @property
    def display_name(self) -> str:
        return self.name or self.nickname or self.email or self.user_id

    @property
    def connection(self) -> str | None:
        return self.identities[0].get("connection") if self.identities else None

    @classmethod
    def from_sdk(cls, model: Any) -> User:
        data = model.model_dump(mode="json", exclude_none=True, by_alias=True)
        native = model.model_dump(exclude_none=True)

        def when(key: str) -> datetime | None:
            value = native.get(key)
            return value if isinstance(value, datetime) else None

        count = data.get("logins_count")
        return cls(
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


@dataclass(frozen=True)
class Standing:
    """What Auth0 says about a signed-in person right now: blocked or not, and their role names."""

    blocked: bool
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class UserPage:
    """One page of a listing, as Auth0 returned it."""

    users: tuple[User, ...]
    total: int
    page: int
    per_page: int

    @property
    def page_count(self) -> int:
        """Pages a person can reach: Auth0 serves only the first 1000 results."""
        reachable = min(self.total, SEARCH_CAP)
        return max(1, -(-reachable // self.per_page))

    @property
    def capped(self) -> bool:
        return self.total > SEARCH_CAP


@dataclass(frozen=True)
class UserQuery:
    """What a listing asks for: the Lucene query (None = everyone), sort, page and page size."""

    q: str | None = None
    sort: str = "last_login"
    page: int = 0
    per_page: int = 24


# --- search text -------------------------------------------------------------------------------------

# Elasticsearch's reserved characters (Auth0 search runs on it) plus the apostrophe, which some Lucene
# parsers read as a quote; escaping a character that needs none is harmless.
LUCENE_SPECIAL = set("+-=&|!(){}[]^\"~*?:\\/<>'")


def escape_lucene(text: str) -> str:
    """Escape every Lucene special character (and spaces) so typed text is matched literally."""
    out = []
    for char in text:
        if char in LUCENE_SPECIAL or char.isspace():
            out.append("\\" + (" " if char.isspace() else char))
        else:
            out.append(char)
    return "".join(out)


def build_query(
    text: str = "",
    *,
    advanced: bool = False,
    blocked: bool = False,
    never_logged_in: bool = False,
    connection: str | None = None,
) -> str | None:
    """The v3 Lucene query for the Users page: plain text is a prefix match on email, name and nickname."""
    parts: list[str] = []
    # An email copied from a card carries the invisible word joiner that keeps it from becoming a link
    # (admin_core.ui.chrome.md); pasted back here, it must still find the person.
    text = " ".join(text.replace("\u2060", "").split())
    if text and advanced:
        parts.append(f"({text})")
    elif text:
        term = escape_lucene(text.lower())
        # Auth0 wants at least three characters before a wildcard; shorter text matches whole words.
        value = f"{term}*" if len(text) >= 3 else f'"{term}"'
        parts.append(f"(email:{value} OR name:{value} OR nickname:{value})")
    if blocked:
        parts.append("blocked:true")
    if never_logged_in:
        parts.append("NOT _exists_:last_login")
    if connection:
        parts.append(f'identities.connection:"{escape_lucene(connection)}"')
    return " AND ".join(parts) or None


# --- token -------------------------------------------------------------------------------------------


class ClientCredentialsToken:
    """Thread-safe Management API token: fetched once, reused until shortly before it expires."""

    def __init__(self, *, base_url: str, client_id: str, client_secret: str, audience: str, timeout: float):
        parts = urlsplit(base_url)
        self._client = GetToken(
            parts.netloc, client_id, client_secret, protocol=parts.scheme, timeout=timeout
        )
        self._client_id = client_id
        self._audience = audience
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at:
                self._token, self._refresh_at = self._fetch()
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (after Auth0 answered 401 to it) so the next call fetches a fresh one."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        started = time.monotonic()
        try:
            answer = self._client.client_credentials(self._audience)
        except Auth0Error as exc:
            raise _token_error(exc, self._client_id, self._audience) from None
        except Exception as exc:  # requests' connection errors, timeouts, bad JSON
            raise Unreachable(
                f"Could not reach Auth0 to get a Management API token ({_short(exc)}). "
                "Check AUTH0_DOMAIN and your network, then try again."
            ) from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise Unreachable("Auth0 answered the token request without a token. Try again in a moment.")
        lifetime = float(answer.get("expires_in") or 86400)
        # Refresh a little early, never more than a tenth of the lifetime (short test tokens stay useful).
        margin = min(60.0, lifetime / 10)
        return token, started + lifetime - margin


def _token_error(exc: Auth0Error, client_id: str, audience: str) -> AdminError:
    status = getattr(exc, "status_code", None)
    text = f"{exc.error_code}: {exc.message}".lower()
    if status == 401 or "unauthorized" in text or "invalid_client" in text:
        return ConfigError(
            "Auth0 refused the app's client credentials for the Management API. Check "
            "AUTH0_MGMT_CLIENT_SECRET (or AUTH0_CLIENT_SECRET when no separate Management API client is set) "
            f"against the client secret of application {client_id} in the Auth0 Dashboard."
        )
    if status == 403 and "service not found" in text:
        return ConfigError(
            f"Auth0 does not know the API {audience}: check AUTH0_DOMAIN (use the tenant's own "
            "*.auth0.com domain, not a custom domain)."
        )
    if status == 403:
        return ConfigError(
            f"Application {client_id} is not authorized for the Auth0 Management API. In the Auth0 Dashboard "
            "open Applications > APIs > Auth0 Management API > Machine To Machine Applications, authorize "
            "it and grant read:users update:users delete:users read:roles."
        )
    if status == 429:
        return RateLimited.from_reset((exc.headers or {}).get("x-ratelimit-reset") if exc.headers else None)
    return Unreachable(f"Auth0 could not issue a Management API token ({status}: {exc.message}). Try again.")


# --- errors ------------------------------------------------------------------------------------------


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _body(exc: ApiError) -> dict:
    body = exc.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {"message": body}
    return body if isinstance(body, dict) else {}


def translate(exc: BaseException) -> AdminError:
    """Turn an SDK or transport error into the domain error the page shows."""
    if isinstance(exc, AdminError):
        return exc
    if isinstance(exc, ApiError):
        status = exc.status_code or 0
        body = _body(exc)
        message = str(body.get("message") or "").strip()
        code = str(body.get("errorCode") or "")
        if 200 <= status < 300:  # the SDK could not parse a successful answer
            return Unreachable("Auth0 sent an answer the app could not read. Try again in a moment.")
        if status == 401:
            return ConfigError(
                "Auth0 did not accept the app's Management API token. Check AUTH0_MGMT_CLIENT_ID / "
                f"AUTH0_MGMT_CLIENT_SECRET and AUTH0_DOMAIN. (Auth0 said: {message or 'Unauthorized'})"
            )
        if status == 403:
            needed = message.split("expected any of:", 1)[-1].strip() if "expected" in message else ""
            scope = f" It needs the scope {needed}." if needed else ""
            return PermissionDenied(
                "The app's Management API grant is missing a permission for this." + scope + " In the Auth0 "
                "Dashboard open Applications > APIs > Auth0 Management API > Machine To Machine Applications "
                "and add it to the app's grant."
            )
        if status == 404:
            return UserGone(
                "That user no longer exists in Auth0 (already deleted?). The list has been refreshed."
            )
        if status == 429:
            return RateLimited.from_reset((exc.headers or {}).get("x-ratelimit-reset"))
        if status == 400 and code == "invalid_paging":
            return SearchCapReached(
                f"Auth0 only shows the first {SEARCH_CAP} results of a search. Narrow the search or the "
                "filters to reach the others."
            )
        if status == 400:
            return BadQuery(f"Auth0 could not understand that search: {message or 'invalid query'}")
        if status == 409:
            return Unreachable(
                f"Auth0 reported a conflict ({message or 'the user changed meanwhile'}). Reload and try again."
            )
        if status >= 500:
            return Unreachable(f"Auth0 is having trouble right now (HTTP {status}). Try again in a moment.")
        return Unreachable(
            f"Auth0 answered with an unexpected error (HTTP {status}): {message or 'no detail'}"
        )
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable("Auth0 did not answer in time. Try again in a moment.")
    if isinstance(exc, httpx.HTTPError):
        return Unreachable(f"Could not reach Auth0 ({_short(exc)}). Check your network and AUTH0_DOMAIN.")
    if isinstance(exc, ParsingError | ValueError):
        return Unreachable("Auth0 sent an answer the app could not read. Try again in a moment.")
    return Unreachable(f"Talking to Auth0 failed unexpectedly ({type(exc).__name__}). Try again in a moment.")


# --- the directory -----------------------------------------------------------------------------------


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
        self._api = Auth0(base_url=api_url, token=token, timeout=timeout, max_retries=max_retries)
        self._changes_lock = threading.Lock()
        # user_id -> (monotonic time, the user after our change or None when we deleted it)
        self._recent: dict[str, tuple[float, User | None]] = {}
        self._locks: dict[str, threading.Lock] = {}
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

    # reads

    def list_users(self, query: UserQuery) -> UserPage:
        """One page, one request: `GET /api/v2/users` with totals, as Auth0 intends."""
        if query.per_page not in PAGE_SIZES:
            raise ValueError(f"per_page must be one of {PAGE_SIZES}")
        if query.page < 0 or query.page * query.per_page >= SEARCH_CAP:
            raise SearchCapReached(
                f"Auth0 only shows the first {SEARCH_CAP} results of a search. Narrow the search or the "
                "filters to reach the others."
            )
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
        users = tuple(User.from_sdk(item) for item in (pager.items or ()))
        total = int(getattr(pager.response, "total", None) or len(users))
        return UserPage(users=users, total=total, page=query.page, per_page=query.per_page)

    def get_user(self, user_id: str) -> User:
        return User.from_sdk(self._call(lambda: self._api.users.get(user_id)))

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

    # changes

    def set_blocked(self, *, actor_sub: str, user_id: str, blocked: bool) -> User:
        self._refuse_self(actor_sub, user_id, "block" if blocked else "unblock")
        user = User.from_sdk(self._call(lambda: self._api.users.update(user_id, blocked=blocked)))
        self._remember(user_id, user)
        return user

    def delete_user(self, *, actor_sub: str, user_id: str) -> None:
        """Delete once: Auth0 answers 204 even for an absent user, so two admins deleting the same person
        at the same moment would both be told "deleted". One lock per user serialises them in this
        process, and the second is told the user is already gone."""
        self._refuse_self(actor_sub, user_id, "delete")
        with self._user_lock(user_id):
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

    def _user_lock(self, user_id: str) -> threading.Lock:
        with self._changes_lock:
            return self._locks.setdefault(user_id, threading.Lock())

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
                self._locks.pop(key, None)

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
            elif recent[user.user_id] is not None:
                users.append(recent[user.user_id])
        removed = len(page.users) - len(users)
        return UserPage(
            users=tuple(users), total=max(0, page.total - removed), page=page.page, per_page=page.per_page
        )

    # --- paced searches (the Overview page's figures) -------------------------------------------------

    def rate_gate(self) -> RateLimitGate:
        """The process-wide pacer for this tenant's Management API, fed by every response's rate headers."""
        gate = self.__dict__.get("_rate_gate")
        if gate is None:
            with _RATE_GATE_LOCK:
                gate = self.__dict__.get("_rate_gate")
                if gate is None:
                    gate = RateLimitGate()
                    _observe_responses(self._api, gate.observe)
                    self.__dict__["_rate_gate"] = gate
        return gate

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
            raise SearchCapReached(f"Auth0 only shows the first {SEARCH_CAP} results of a search.")
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
            gate.acquire()
            try:
                pager = self._call(fetch)
            except RateLimited as exc:
                attempt += 1
                gate.penalize(exc.retry_at.timestamp() if exc.retry_at else None)
                if attempt > rate_limit_retries:
                    raise
                continue
            finally:
                gate.release()
            users = tuple(User.from_sdk(item) for item in (pager.items or ()))
            total = getattr(pager.response, "total", None)
            return SearchPage(users=users, total=int(total) if total is not None else len(users))


@dataclass(frozen=True)
class SearchPage:
    """One page of a search (at most 100 users) and how many users the search matches in all."""

    users: tuple[User, ...]
    total: int


_RATE_GATE_LOCK = threading.Lock()


def _observe_responses(api: Any, observer: Callable[[httpx.Response], None]) -> bool:
    """Hook `observer` into the SDK's httpx client so it sees every response (and its rate headers)."""
    try:
        client = api._client_wrapper.httpx_client.httpx_client
        hooks = dict(client.event_hooks)
    except AttributeError:  # a future SDK layout: the gate then learns from 429s only
        return False
    hooks["response"] = [*hooks.get("response", []), observer]
    client.event_hooks = hooks
    return True


class RateLimitGate:
    """Client-side pacing from Auth0's `x-ratelimit-limit/-remaining/-reset` headers.

    A request may start while the last reported `remaining` exceeds the requests of ours in flight;
    once it is used up, callers wait for `reset` (Unix seconds), when the window is full again.
    Before any header is seen, one request at a time. Waits longer than `max_wait` raise RateLimited.
    """

    def __init__(self, *, max_wait: float = 60.0):
        self._cond = threading.Condition()
        self.max_wait = max_wait
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at = 0.0
        self.inflight = 0
        self._refilled = False  # `remaining` was refilled locally after `reset_at` passed

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            if response.status_code == 429:
                self.penalize(None)
            return
        try:
            limit = int(headers.get("x-ratelimit-limit", ""))
        except ValueError:
            limit = None
        if response.status_code == 429:
            remaining = 0
        with self._cond:
            if limit:
                self.limit = limit
            # answers arrive out of order: keep the latest window, and the lowest count within it
            if self.remaining is None or reset_at > self.reset_at:
                self.remaining, self.reset_at, self._refilled = remaining, reset_at, False
            elif reset_at == self.reset_at and remaining < self.remaining:
                self.remaining, self._refilled = remaining, False
            elif remaining == 0 and not self._refilled:
                self.remaining = 0  # a 429 naming an earlier reset: keep the later (safer) one
            self._cond.notify_all()

    def penalize(self, retry_at: float | None) -> None:
        """A 429 arrived: nothing is left until `retry_at` (at least half a second from now)."""
        with self._cond:
            self.remaining = 0
            self.reset_at = max(self.reset_at, retry_at or 0.0, time.time() + 0.5)
            self._refilled = False
            self._cond.notify_all()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.max_wait
        with self._cond:
            while True:
                now = time.time()
                used_up = self.remaining is not None and self.remaining - self.inflight <= 0
                if used_up and not self._refilled and now >= self.reset_at:
                    # the window has been reset: the whole limit is available again, once
                    self.remaining, self._refilled = self.limit or 1, True
                    used_up = self.remaining - self.inflight <= 0
                allowed = (1 if self.remaining is None else self.remaining) - self.inflight
                if allowed > 0:
                    self.inflight += 1
                    return
                if used_up and self.inflight == 0 and not self._refilled:
                    wait = self.reset_at - now + 0.05  # small margin: reset has one-second resolution
                else:
                    wait = 0.25  # a request of ours is in flight: its answer will tell more
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RateLimited.from_reset(str(self.reset_at))
                self._cond.wait(max(0.01, min(wait, left)))

    def release(self) -> None:
        with self._cond:
            self.inflight = max(0, self.inflight - 1)
            self._cond.notify_all()
