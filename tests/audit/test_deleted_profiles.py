"""Kept profiles of deleted people (undo a delete), on every backend: keep, list, mark re-created, purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from admin_core import deleted
from admin_core.audit import AuditStore, deleted_profiles
from admin_core.domain import User

PROFILE = {
    "user_id": "auth0|carol",
    "email": "carol@example.com",
    "name": "Carol Jones",
    "user_metadata": {"theme": "dark"},
    "app_metadata": {"plan": "gold", "nested": {"a": [1, 2]}},
    "access_token": "top-level-secret",
    "identities": [
        {
            "connection": "Username-Password-Authentication",
            "provider": "auth0",
            "user_id": "carol",
            "isSocial": False,
        },
        {
            "connection": "google-oauth2",
            "provider": "google-oauth2",
            "user_id": "123",
            "isSocial": True,
            "access_token": "ya29.secret",
            "refresh_token": "1//refresh-secret",
            "expires_in": 3599,
        },
    ],
}
ROLES = [{"id": "rol_1", "name": "User Viewer"}, {"id": "rol_2", "name": "Billing"}]


def a_user(profile: dict = PROFILE) -> User:
    return User(
        user_id=profile["user_id"],
        email=profile.get("email"),
        name=profile.get("name"),
        identities=tuple(profile.get("identities") or ()),
        profile=dict(profile),
    )


def test_a_kept_profile_has_its_metadata_and_roles_and_no_provider_tokens(store: AuditStore) -> None:
    kept_id = deleted.keep(store, user=a_user(), roles=ROLES, deleted_by="auth0|alice", days=30)
    assert kept_id is not None
    (kept,) = deleted.kept_people(store)
    assert kept.kept_id == kept_id
    assert (kept.user_id, kept.email, kept.name) == ("auth0|carol", "carol@example.com", "Carol Jones")
    assert kept.profile["app_metadata"] == {"plan": "gold", "nested": {"a": [1, 2]}}
    assert [r.name for r in kept.roles] == ["User Viewer", "Billing"]
    assert kept.deleted_by == "auth0|alice" and kept.deleted_at.tzinfo is not None
    text = repr(store.deleted_profiles())
    for secret in ("ya29.secret", "refresh-secret", "top-level-secret", "expires_in"):
        assert secret not in text
    assert kept.recreatable and kept.why_not() is None


def test_zero_days_keeps_nothing(store: AuditStore) -> None:
    assert deleted.keep(store, user=a_user(), roles=ROLES, deleted_by="auth0|alice", days=0) is None
    assert deleted.kept_people(store) == []


def test_the_purge_removes_rows_past_the_retention_for_good(store: AuditStore) -> None:
    old = deleted.keep(store, user=a_user(), roles=ROLES, deleted_by="auth0|alice", days=30)
    recent = deleted.keep(
        store, user=a_user({**PROFILE, "user_id": "auth0|dan"}), roles=[], deleted_by="auth0|alice", days=30
    )
    with store.engine.begin() as conn:  # the first delete happened 31 days ago
        conn.execute(
            deleted_profiles.update()
            .where(deleted_profiles.c.id == old)
            .values(deleted_at=datetime.now(UTC) - timedelta(days=31))
        )
    assert deleted.purge(store, days=30) == 1
    assert [k.kept_id for k in deleted.kept_people(store)] == [recent]
    with store.engine.connect() as conn:  # gone from the table, not hidden
        assert conn.execute(sa.select(sa.func.count()).select_from(deleted_profiles)).scalar_one() == 1
    assert deleted.purge(store, days=0) == 1  # turned off: every kept profile goes
    assert deleted.kept_people(store) == []


def test_the_new_user_id_is_recorded_next_to_the_old_one(store: AuditStore) -> None:
    kept_id = deleted.keep(store, user=a_user(), roles=ROLES, deleted_by="auth0|alice", days=30)
    assert kept_id is not None
    store.mark_recreated(kept_id, new_user_id="auth0|new-carol")
    kept = deleted.kept_person(store, kept_id)
    assert kept is not None
    assert (kept.user_id, kept.recreated_user_id) == ("auth0|carol", "auth0|new-carol")
    assert kept.recreated_at is not None and not kept.recreatable
    assert "re-created already" in (kept.why_not() or "")


def test_social_users_are_not_recreatable_and_the_reason_says_so(store: AuditStore) -> None:
    social = {
        "user_id": "google-oauth2|123",
        "email": "g@example.com",
        "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "123"}],
    }
    deleted.keep(store, user=a_user(social), roles=[], deleted_by="auth0|alice", days=30)
    (kept,) = deleted.kept_people(store)
    assert not kept.recreatable
    assert "a fresh profile" in (kept.why_not() or "")
    assert kept.connection == "google-oauth2"


def test_the_create_body_copies_email_name_metadata_on_the_same_connection(store: AuditStore) -> None:
    deleted.keep(store, user=a_user(), roles=ROLES, deleted_by="auth0|alice", days=30)
    (kept,) = deleted.kept_people(store)
    body = deleted.create_body(kept)
    assert body["connection"] == "Username-Password-Authentication"
    assert body["email"] == "carol@example.com" and body["name"] == "Carol Jones"
    assert body["user_metadata"] == {"theme": "dark"} and body["app_metadata"]["plan"] == "gold"
    assert len(body["password"]) >= 32 and "identities" not in body and "user_id" not in body


def test_the_purge_clock_is_due_at_start_then_once_a_day() -> None:
    now = [1000.0]
    clock = deleted.PurgeClock(clock=lambda: now[0])
    assert clock.due()
    assert not clock.due()
    now[0] += deleted.PURGE_EVERY_SECONDS - 1
    assert not clock.due()
    now[0] += 1
    assert clock.due()
