"""The dev tenant's creation routes: connections with their password policy, POST /users as Auth0 answers."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError

from devtenant.creation_api import CONTRACTORS, DUPLICATE, WEAK_PASSWORD
from devtenant.people import DB_CONNECTION
from tests.devtenant.conftest import get_token, management


def test_database_connections_are_listed_with_their_password_policy(dt, api):
    pager = api.connections.list(strategy="auth0", take=50, include_totals=True)
    listed = {c.name: c for c in pager.items}
    assert set(listed) == {DB_CONNECTION, CONTRACTORS}
    assert listed[DB_CONNECTION].options["passwordPolicy"] == "good"
    assert listed[CONTRACTORS].options["password_complexity_options"] == {"min_length": 12}


def test_every_connection_without_a_strategy_filter_and_checkpoint_paging(dt, raw):
    first = raw.get("/connections", params={"take": 2}).json()
    assert len(first["connections"]) == 2 and first["next"]
    rest = raw.get("/connections", params={"take": 2, "from": first["next"]}).json()
    assert "next" not in rest
    names = {c["name"] for c in first["connections"] + rest["connections"]}
    assert {"google-oauth2", "github", DB_CONNECTION, CONTRACTORS} == names
    offset = raw.get("/connections", params={"per_page": 1, "include_totals": "true"}).json()
    assert offset["total"] == 4 and len(offset["connections"]) == 1


def test_options_need_the_read_connections_options_scope(dt):
    token = get_token(dt, "dashboard", "dashboard-secret")["access_token"]
    assert all(c.options is not None for c in management(dt, token).connections.list(take=50).items)
    # narrow-m2m has no read:connections at all
    narrow = get_token(dt, "narrow-m2m", "narrow-secret")["access_token"]
    with pytest.raises(ApiError) as refused:
        management(dt, narrow).connections.list(take=50)
    assert refused.value.status_code == 403


def test_a_user_is_created_on_a_database_connection_and_can_sign_in(dt, api):
    made = api.users.create(
        connection=DB_CONNECTION, email="New.Person@Example.org", password="Abcdefg1!", name="New Person"
    )
    assert made.user_id.startswith("auth0|") and made.email == "new.person@example.org"
    assert made.identities[0].connection == DB_CONNECTION
    assert api.users.get(made.user_id).name == "New Person"
    assert dt.try_sign_in("new.person@example.org", "Abcdefg1!").status_code == 302


def test_a_weak_password_is_refused_with_auth0s_words(dt, raw):
    answer = raw.post(
        "/users", json={"connection": DB_CONNECTION, "email": "w@example.org", "password": "short"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"statusCode": 400, "error": "Bad Request", "message": WEAK_PASSWORD}
    # Contractors: excellent with 12 characters; what passes "good" does not pass there
    body = {"connection": CONTRACTORS, "email": "c@example.org", "password": "Abcdefg1!"}
    assert raw.post("/users", json=body).status_code == 400
    assert raw.post("/users", json={**body, "password": "Abcdefgh1!xyz"}).status_code == 201


def test_the_policy_can_be_changed_for_a_test_and_reset(dt, raw):
    dt._call("PUT", f"/__dev/connections/{DB_CONNECTION}", json={"passwordPolicy": "low"})
    body = {"connection": DB_CONNECTION, "email": "low@example.org", "password": "sixsix"}
    assert raw.post("/users", json=body).status_code == 201
    dt.reset()
    listed = raw.get("/connections", params={"strategy": "auth0"}).json()
    assert next(c for c in listed if c["name"] == DB_CONNECTION)["options"]["passwordPolicy"] == "good"


def test_a_duplicate_email_is_a_409(dt, raw):
    body = {"connection": DB_CONNECTION, "email": "admin@example.com", "password": "Abcdefg1!"}
    answer = raw.post("/users", json=body)
    assert answer.status_code == 409
    assert answer.json()["message"] == DUPLICATE


def test_social_connections_and_bad_bodies_are_refused(dt, raw):
    social = raw.post("/users", json={"connection": "github", "email": "g@example.org", "password": "x"})
    assert social.status_code == 400 and "database or passwordless" in social.json()["message"]
    assert (
        raw.post("/users", json={"email": "n@example.org"})
        .json()["message"]
        .startswith("Payload validation error: 'Missing required property: connection'")
    )
    bad = raw.post("/users", json={"connection": DB_CONNECTION, "email": "nope", "password": "Abcdefg1!"})
    assert bad.status_code == 400
    unknown = raw.post(
        "/users", json={"connection": "nope", "email": "a@example.org", "password": "Abcdefg1!"}
    )
    assert unknown.status_code == 400


def test_an_unverified_new_user_gets_a_verification_email_unless_asked_not_to(dt, raw):
    dt.clear_outbox()
    body = {"connection": DB_CONNECTION, "password": "Abcdefg1!"}
    raw.post("/users", json={**body, "email": "v1@example.org"})
    raw.post("/users", json={**body, "email": "v2@example.org", "verify_email": False})
    assert [m["to"] for m in dt.outbox()] == ["v1@example.org"]


def test_a_password_ticket_for_a_new_user_marks_the_email_verified(dt, raw):
    body = {
        "connection": DB_CONNECTION,
        "email": "inv@example.org",
        "password": "Zz9!" * 10,
        "verify_email": False,
    }
    user = raw.post("/users", json=body).json()
    ticket = raw.post(
        "/tickets/password-change",
        json={
            "user_id": user["user_id"],
            "mark_email_as_verified": True,
            "result_url": "http://localhost:8501",
        },
    ).json()["ticket"]
    assert dt.reset_password(ticket, "Chosen-Password-1").status_code == 200
    assert raw.get(f"/users/{user['user_id']}").json()["email_verified"] is True
    assert dt.try_sign_in("inv@example.org", "Chosen-Password-1").status_code == 302


def test_the_reset_page_holds_the_connections_policy_too(dt, raw):
    body = {
        "connection": CONTRACTORS,
        "email": "pol@example.org",
        "password": "Zz9!" * 10,
        "verify_email": False,
    }
    user = raw.post("/users", json=body).json()
    ticket = raw.post("/tickets/password-change", json={"user_id": user["user_id"]}).json()["ticket"]
    weak = dt.reset_password(ticket, "Abcdefg1!")  # good enough for "good", not for excellent/12
    assert weak.status_code == 400 and "too weak" in weak.text
    assert dt.reset_password(ticket, "Abcdefgh1!xyz").status_code == 200
