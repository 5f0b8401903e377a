"""The records the app passes around (users, pages of users, a person's standing) and Auth0's search limits.

Streamlit-free and SDK-free: the UI, the pages and the Overview import their types from here, and the
Management API wrapper (`admin_core.auth0`) builds them from the SDK's models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SEARCH_CAP = 1000  # Auth0 pages through the first 1000 results of any search, no further.
PAGE_SIZES = (24, 50, 100)
SORTS = {
    "last_login": ("last_login:-1", "Last login (newest first)"),
    "created": ("created_at:-1", "Created (newest first)"),
    "name": ("name:1", "Name (A-Z)"),
    "email": ("email:1", "Email (A-Z)"),
}


def search_cap_message(total: int | None = None) -> str:
    """What a person reads when a search has more results than Auth0 will page through."""
    these = f"these {total:,} results" if total is not None else "the results of a search"
    return (
        f"Auth0 shows only the first {SEARCH_CAP:,} of {these}. Narrow the search or add filters to reach "
        "the others."
    )


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


@dataclass(frozen=True)
class SearchPage:
    """One page of a search (at most 100 users) and how many users the search matches in all."""

    users: tuple[User, ...]
    total: int
