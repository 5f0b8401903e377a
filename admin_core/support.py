"""The support desk's records: one person's sign-in history, locks, MFA and sessions, as the pages need them.

Streamlit-free and SDK-free, like `admin_core.domain`: the Management API wrapper (`admin_core.auth0`)
builds these from Auth0's answers, `admin_core.verdicts` reads them to say why someone cannot sign in,
and the person's page draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from admin_core.domain import User
from admin_core.roles import RoleInfo

LOGS_PER_PAGE = 50  # Auth0 serves at most 100 per page of a user's logs
LOGS_CAP = 1000  # and pages through the first 1000 of them, no further
# How long Auth0 keeps tenant logs, by plan (days); the Activity section says so when a history is empty.
LOG_RETENTION_DAYS = {"Free": 1, "Starter": 1, "Essentials": 5, "Professional": 10, "Enterprise": 30}
# Where an admin adds a missing scope to this app's Management API grant.
GRANT_PLACE = "Dashboard > Applications > APIs > Auth0 Management API > Machine To Machine Applications"


@dataclass(frozen=True)
class LogEvent:
    """One entry of a person's Auth0 log (`GET /api/v2/users/{id}/logs`)."""

    log_id: str
    type: str  # Auth0's event code: "s", "fp", "limit_wc", ... (see admin_core.logcodes)
    date: datetime | None = None
    description: str | None = None
    ip: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    connection: str | None = None
    user_agent: str | None = None
    raw: dict = field(default_factory=dict)  # every field Auth0 sent, JSON-ready


@dataclass(frozen=True)
class LogPage:
    """One page of a person's log, newest first; `total` is Auth0's count (it pages the first 1000)."""

    events: tuple[LogEvent, ...]
    page: int
    per_page: int
    total: int

    @property
    def page_count(self) -> int:
        reachable = min(self.total, LOGS_CAP)
        return max(1, -(-reachable // self.per_page))

    @property
    def capped(self) -> bool:
        return self.total > LOGS_CAP


@dataclass(frozen=True)
class BruteForceBlock:
    """One brute-force lock (`GET /api/v2/user-blocks/{id}`, `blocked_for[]`): this identifier from this IP."""

    identifier: str | None = None
    ip: str | None = None
    connection: str | None = None


@dataclass(frozen=True)
class AuthMethod:
    """A second factor (or password) the person enrolled (`GET /api/v2/users/{id}/authentication-methods`)."""

    method_id: str
    type: str  # "totp", "phone", "email", "push", "webauthn-roaming", "recovery-code", ... (Auth0's names)
    name: str | None = None
    confirmed: bool | None = None
    created_at: datetime | None = None
    last_auth_at: datetime | None = None


@dataclass(frozen=True)
class SessionRecord:
    """One of the person's Auth0 sessions (`GET /api/v2/users/{user_id}/sessions`, Enterprise plans)."""

    session_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_interacted_at: datetime | None = None
    expires_at: datetime | None = None
    clients: tuple[str, ...] = ()  # application names or ids
    user_agent: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Unavailable:
    """A section that could not be read: what the person reads, and the scope to add when that is the cause."""

    message: str
    scope: str | None = None  # e.g. "read:logs": the grant lacks it (see GRANT_PLACE)


@dataclass(frozen=True)
class PersonFile:
    """What the person's page fetches at once (cold: one request each, concurrently; warm: none).

    A section Auth0 would not give (missing scope, a fault) is `Unavailable`; the rest of the page works.
    Sessions are not here: they are fetched only when that section is opened.
    """

    user: User
    roles: tuple[RoleInfo, ...] | Unavailable  # admin_core.roles: id, name, description
    logs: LogPage | Unavailable  # the first page, newest first, every kind of event
    blocks: tuple[BruteForceBlock, ...] | Unavailable
    mfa: tuple[AuthMethod, ...] | Unavailable
    fetched_at: datetime


@dataclass(frozen=True)
class ResetLink:
    """A password-change ticket: a secret shown once to the admin, never logged, audited or put in a URL."""

    url: str = field(repr=False)
    expires_at: datetime
