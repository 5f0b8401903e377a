"""What `PATCH /api/v2/users/{id}` checks before it changes a user, as Auth0 does (issue 16).

The field rules are the `UpdateUserRequestContent` schema of Auth0's OpenAPI document (lengths, the E.164
pattern of `phone_number`, `email` and `picture` formats), worded like Auth0's payload validation errors.
The metadata rules are Auth0's documented limits: no `.` or `$` in key names, the fields Auth0 will not
keep in `app_metadata`, 16 MB for each of `user_metadata` and `app_metadata` after the merge.
Emails that Auth0 would send (`verify_email: true`) go to the dev tenant's outbox.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.responses import Response

from devtenant.errors import api_error

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

METADATA_MAX_BYTES = 16 * 1024 * 1024
RESERVED_APP_METADATA = (
    "blocked",
    "clientID",
    "created_at",
    "email",
    "email_verified",
    "global_client_id",
    "globalClientID",
    "identities",
    "lastIP",
    "lastLogin",
    "metadata",
    "user_id",
    "loginsCount",
)
LENGTHS = {
    "given_name": (1, 150, "Given name/first name/forename of this user."),
    "family_name": (1, 150, "Family name/last name/surname of this user."),
    "name": (1, 300, "Name of this user."),
    "nickname": (1, 300, "Preferred nickname or alias of this user."),
    "username": (1, 128, "The user's username. Only valid if the connection requires a username."),
    "password": (1, None, "New password for this user. Only valid for database connections."),
}
PHONE = "^\\+[0-9]{1,15}$"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATABASE_ONLY = ("email", "password", "phone_number", "username")


def _invalid(message: str, prop: str, what: str) -> Response:
    return api_error(
        400, f"Payload validation error: '{message}' on property {prop} ({what}).", "invalid_body"
    )


def _bad_key(value: object) -> str | None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if "." in key or "$" in key:
                return key
            if (found := _bad_key(inner)) is not None:
                return found
    elif isinstance(value, list):
        for inner in value:
            if (found := _bad_key(inner)) is not None:
                return found
    return None


def check_fields(body: dict) -> Response | None:
    """The schema's rules on the root fields (types were checked by the caller); None when all pass."""
    for prop, (low, high, what) in LENGTHS.items():
        value = body.get(prop)
        if not isinstance(value, str):
            continue
        if len(value) < low:
            return _invalid(f"String is too short ({len(value)} chars), minimum {low}", prop, what)
        if high is not None and len(value) > high:
            return _invalid(f"String is too long ({len(value)} chars), maximum {high}", prop, what)
    phone = body.get("phone_number")
    if isinstance(phone, str) and not re.match(PHONE, phone):
        return _invalid(
            f"String does not match pattern {PHONE}: {phone}",
            "phone_number",
            "The user's phone number (following the E.164 recommendation).",
        )
    email = body.get("email")
    if isinstance(email, str) and not EMAIL.match(email):
        return _invalid(
            f"Object didn't pass validation for format email: {email}", "email", "Email address of this user."
        )
    picture = body.get("picture")
    if isinstance(picture, str):
        parts = urlsplit(picture)
        if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", picture):
            return _invalid(
                f"Object didn't pass validation for format strict-uri: {picture}",
                "picture",
                "URL to picture, photo, or avatar of this user.",
            )
    return None


def check_metadata(body: dict) -> Response | None:
    """Key names and reserved fields of the metadata sent (before the merge)."""
    for field in ("user_metadata", "app_metadata"):
        value = body.get(field)
        if not isinstance(value, dict):
            continue
        if (key := _bad_key(value)) is not None:
            return api_error(
                400,
                f"Payload validation error: 'Invalid key name: {key}. Metadata key names cannot contain "
                f'"." or "$"\' on property {field}.',
                "invalid_body",
            )
        if field == "app_metadata":
            reserved = [k for k, v in value.items() if k in RESERVED_APP_METADATA and v is not None]
            if reserved:
                return api_error(
                    400,
                    f"Payload validation error: 'app_metadata cannot contain the reserved field "
                    f"{reserved[0]}' on property app_metadata.",
                    "invalid_body",
                )
    return None


def check_merged(field: str, merged: dict) -> Response | None:
    """Auth0's 16 MB limit on one metadata object, as it would be stored."""
    size = len(json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        return api_error(
            400,
            f"Payload validation error: '{field} is too large ({size} bytes), maximum "
            f"{METADATA_MAX_BYTES} bytes' on property {field}.",
            "invalid_body",
        )
    return None


def check_connection(body: dict, user: dict) -> Response | None:
    """Email, phone, username and password belong to a database connection's user; others' are the IdP's."""
    if any(i.get("provider") == "auth0" for i in user.get("identities") or ()):
        return None
    for prop in DATABASE_ONLY:
        if prop in body:
            connection = (user.get("identities") or [{}])[0].get("connection", "")
            return api_error(
                400,
                f"{prop} cannot be updated for users of the {connection} connection (not a database "
                "connection).",
                "operation_not_supported",
            )
    return None


def after_update(tenant: Tenant, body: dict, user: dict) -> None:
    """The email Auth0 sends when `verify_email` is set with a new address."""
    if body.get("verify_email") and user.get("email"):
        token = tenant.support.new_ticket(user["user_id"], kind="verification_email")
        tenant.support.send(
            user["email"],
            "verification_email",
            f"{tenant.base_url}/u/email-verification?ticket={token}",
            user["user_id"],
        )
