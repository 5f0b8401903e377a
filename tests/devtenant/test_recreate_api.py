"""`POST /api/v2/users` in the dev tenant at its minimum (undo a delete), through auth0-python as the app
calls it: 201 with the new user on the database connection, 409 for a taken email, 400 for an unknown
connection or a missing password, and the scope create:users."""

from __future__ import annotations

import pytest
from auth0.management.core.api_error import ApiError

from tests.devtenant.conftest import get_token, management

CONNECTION = "Username-Password-Authentication"


def test_create_gives_201_a_database_user_with_the_metadata(dt, api):
    made = api.users.create(
        connection=CONNECTION,
        email="Re.Created@Example.org",
        password="Recreated-1-password!",
        name="Re Created",
        user_metadata={"theme": "dark"},
        app_metadata={"plan": "gold"},
        verify_email=False,
    )
    assert made.user_id.startswith("auth0|") and made.email == "re.created@example.org"
    assert made.identities[0].connection == CONNECTION and made.identities[0].provider == "auth0"
    fetched = api.users.get(made.user_id)
    assert fetched.user_metadata == {"theme": "dark"} and fetched.app_metadata == {"plan": "gold"}
    assert "code=" in dt.try_sign_in("re.created@example.org", "Recreated-1-password!").headers["location"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"email": "admin@example.com", "password": "Another-1-pass!"}, 409, "The user already exists."),
        (
            {"email": "new@example.org", "password": "Another-1-pass!", "connection": "nope"},
            400,
            "connection",
        ),
        ({"email": "new@example.org"}, 400, "password"),
    ],
)
def test_refusals_are_auth0s(dt, api, body, status, words):
    with pytest.raises(ApiError) as caught:
        api.users.create(**{"connection": CONNECTION, **body})
    assert caught.value.status_code == status
    assert words in caught.value.body["message"]


def test_create_needs_the_create_users_scope(dt):
    narrow = management(dt, get_token(dt, "narrow-m2m", "narrow-secret")["access_token"])
    with pytest.raises(ApiError) as caught:
        narrow.users.create(connection=CONNECTION, email="n@example.org", password="Another-1-pass!")
    assert caught.value.status_code == 403 and "create:users" in caught.value.body["message"]
