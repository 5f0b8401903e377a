"""SDK and transport errors become sentences for the person; the technical detail goes to the server log."""

from __future__ import annotations

import logging

import httpx
import pytest
import requests
from auth0.management.core.api_error import ApiError

from admin_core.auth0.errors import token_unreachable, translate
from admin_core.domain import SEARCH_CAP, search_cap_message
from admin_core.errors import PermissionDenied, SearchCapReached, Unreachable

LOGGER = "admin_core.auth0.errors"


class OddSdkFailure(Exception):
    """An exception type the wrapper has never heard of (its name must never reach the page)."""


@pytest.mark.parametrize(
    "exc",
    [OddSdkFailure(), OddSdkFailure("internal detail"), KeyError("users")],
    ids=["no text", "with text", "KeyError"],
)
def test_an_unexpected_error_is_a_sentence_and_a_log_line_never_a_class_name(exc, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        error = translate(exc)
    assert isinstance(error, Unreachable)
    assert error.message == "Talking to Auth0 failed unexpectedly. Try again in a moment."
    assert type(exc).__name__ in caplog.text  # the detail is on the server, for whoever reads the log


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError(""), httpx.RemoteProtocolError("")], ids=["connect", "protocol"]
)
def test_a_transport_error_without_text_names_no_class(exc, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        error = translate(exc)
    assert error.message.startswith("Could not reach Auth0.")
    assert type(exc).__name__ not in error.message
    assert type(exc).__name__ in caplog.text


def test_a_failed_token_request_names_no_class(caplog):
    exc = requests.ConnectionError()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        error = token_unreachable(exc)
    assert error.message.startswith("Could not reach Auth0 to get a Management API token.")
    assert "ConnectionError" not in error.message and "ConnectionError" in caplog.text


def test_auth0s_paging_refusal_is_told_in_the_domains_words():
    exc = ApiError(
        status_code=400, body={"message": "You can only page through...", "errorCode": "invalid_paging"}
    )
    error = translate(exc)
    assert isinstance(error, SearchCapReached)
    assert error.message == search_cap_message()


def test_the_search_cap_message_says_how_many_and_what_to_do():
    assert search_cap_message(4321) == (
        "Auth0 shows only the first 1,000 of these 4,321 results. Narrow the search or add filters to reach "
        "the others."
    )
    assert f"{SEARCH_CAP:,}" in search_cap_message()


@pytest.mark.parametrize(
    ("message", "scopes"),
    [
        ("Insufficient scope, expected any of: read:users", ["read:users"]),
        (
            "Insufficient scope; expected any of: read:logs, read:logs_users.",
            ["read:logs", "read:logs_users"],
        ),
        ("Insufficient scope; expected: delete:sessions", ["delete:sessions"]),
        ("Insufficient scope, expected any of: read:logs,read:logs_users", ["read:logs", "read:logs_users"]),
        ("User to be acted on does not match subject in bearer token.", []),
    ],
)
def test_a_missing_scope_is_named_whichever_way_auth0_words_it(message, scopes):
    body = {"statusCode": 403, "error": "Forbidden", "message": message, "errorCode": "insufficient_scope"}
    error = translate(ApiError(status_code=403, headers={}, body=body))
    assert isinstance(error, PermissionDenied)
    assert error.scope == (scopes[0] if scopes else None)
    for scope in scopes:
        assert scope in error.message
    assert "Applications > APIs > Auth0 Management API > Machine To Machine Applications" in error.message
