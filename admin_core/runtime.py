"""Process-wide objects and caches: settings, the Management API client, the audit store, listing caches.

Each is built once per server process with `st.cache_resource`, so every session shares one
client-credentials token and one database engine. This module draws nothing: a page that cannot read the
settings is admin_core.ui.gate's `settings_or_explain`.
"""

from __future__ import annotations

import streamlit as st

from admin_core.audit import AuditStore
from admin_core.auth0.users import Directory
from admin_core.domain import User, UserPage, UserQuery
from admin_core.overview import FiguresStore
from admin_core.settings import Settings, load_settings
from admin_core.tokens import IdTokenVerifier

LISTING_TTL_SECONDS = 30


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def get_directory() -> Directory:
    return Directory.from_settings(get_settings())


@st.cache_resource(show_spinner=False)
def get_verifier() -> IdTokenVerifier:
    settings = get_settings()
    return IdTokenVerifier(
        jwks_url=settings.jwks_url,
        issuer=settings.issuer,
        client_id=settings.client_id,
        timeout=settings.timeout_seconds,
    )


@st.cache_resource(show_spinner=False)
def get_audit() -> AuditStore:
    settings = get_settings()
    if settings.audit_database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return AuditStore(settings.audit_database_url)


# cache_resource, not cache_data: a warm rerun gets the shared (frozen) page itself instead of unpickling a
# fresh copy every time (~2-5 ms a rerun for a page of 100), and `users_frame` can then reuse its frame.
# The spinner shows only on a miss (a request to Auth0), never on a warm rerun. Called with keywords and one
# hashed string: Streamlit looks up each positional argument's name (inspect.signature) and hashes each
# argument on every call: about 7% of a warm table rerun in a profile (bench/, issue 9).
@st.cache_resource(ttl=LISTING_TTL_SECONDS, show_spinner="Asking Auth0…", max_entries=256)
def _cached_page(*, key: str, _query: UserQuery) -> UserPage:
    return get_directory().list_users(_query)


def list_users(query: UserQuery) -> UserPage:
    """One page of users: one Management API request when cold, none when warm; our own changes applied."""
    page = _cached_page(key=repr((query.q, query.sort, query.page, query.per_page)), _query=query)
    return get_directory().overlay(page)


def all_results(query: UserQuery) -> list[User]:
    """Every reachable result of a search (Auth0 serves the first 1000): at most 10 requests of 100."""
    users: list[User] = []
    page_number = 0
    while True:
        page = list_users(UserQuery(q=query.q, sort=query.sort, page=page_number, per_page=100))
        users.extend(page.users)
        page_number += 1
        if not page.users or page_number >= page.page_count:
            return users


def clear_listing() -> None:
    """Forget cached listings after any change, so the next view asks Auth0 again."""
    _cached_page.clear()


@st.cache_resource(show_spinner=False)
def get_overview_store() -> FiguresStore:
    """The Overview's figures, shared by every session for a few minutes (admin_core.overview.TTL_SECONDS)."""
    return FiguresStore()
