"""Editing a person's metadata and profile, before anything reaches Auth0 (Streamlit-free, SDK-free).

Auth0's rules, followed here so the diff shown is what Auth0 will do: a PATCH merges `user_metadata` and
`app_metadata` at the top level only (a nested object is replaced whole), and a top-level key sent as
`null` is removed. So the editor sends only the keys that change, and `null` for each key removed.
Auth0's limits (key names, reserved `app_metadata` fields, 16 MB each) are checked before the call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from admin_core.errors import AdminError

METADATA_FIELDS = ("user_metadata", "app_metadata")
# Auth0 limits each of user_metadata and app_metadata to 16 MB (support article "What is the maximum
# size of user_metadata and app_metadata profiles").
METADATA_MAX_BYTES = 16 * 1024 * 1024
# Auth0 refuses field names with a dot or a dollar sign ("Metadata field names and data types").
FORBIDDEN_KEY_CHARACTERS = (".", "$")
# Fields Auth0 will not store in app_metadata ("Metadata field name rules": field restrictions).
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
MERGE_RULE = (
    "Auth0 merges what you save into the existing metadata at the top level only: a top-level key you "
    "change is replaced whole (nested objects included), and a key you remove is sent as null, which "
    "removes it."
)
STALE = (
    "{who} was changed by someone else since you opened it. Start again from Auth0's current copy "
    "(the page shows it now) and make your change on that."
)
WORDS = {"user_metadata": "user metadata", "app_metadata": "app metadata"}


class MetadataInvalid(AdminError):
    """What was typed cannot be sent: not JSON, not an object, or beyond one of Auth0's limits."""


class ProfileInvalid(AdminError):
    """A profile field would be refused by Auth0; `field` names it."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class StaleCopy(AdminError):
    """The person changed in Auth0 after the admin opened their page: the save was not made.

    `current` is the copy Auth0 has now (read for the check), so the page can show it without asking again."""

    def __init__(self, message: str, *, current: Any = None):
        super().__init__(message)
        self.current = current


def parse(text: str, *, field: str = "user_metadata") -> dict[str, Any]:
    """The JSON object typed in the editor, or MetadataInvalid saying where and what is wrong."""
    words = WORDS.get(field, field)
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataInvalid(
            f"The {words} is not valid JSON: {exc.msg.lower()} at line {exc.lineno}, column {exc.colno}. "
            "Nothing was sent."
        ) from None
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a text", bool: "true or false", type(None): "null"}.get(
            type(value), "a number"
        )
        raise MetadataInvalid(f"The {words} must be a JSON object ({{ ... }}), not {kind}. Nothing was sent.")
    return value


def dumps(value: dict[str, Any]) -> str:
    """How metadata is shown in the editor: indented, keys in Auth0's order."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Change:
    """One top-level key that will change: added, changed or removed (old/new None when absent)."""

    key: str
    kind: str  # "added", "changed", "removed"
    old: Any = None
    new: Any = None

    def sentence(self) -> str:
        if self.kind == "added":
            return f"add {self.key} = {_short(self.new)}"
        if self.kind == "removed":
            return f"remove {self.key} (was {_short(self.old)}; sent as null)"
        return f"change {self.key} from {_short(self.old)} to {_short(self.new)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What saving `new` over `old` changes, key by key (top level, as Auth0 merges)."""
    changes = []
    for key, value in new.items():
        if key not in old:
            changes.append(Change(key, "added", new=value))
        elif old[key] != value:
            changes.append(Change(key, "changed", old=old[key], new=value))
    changes += [Change(key, "removed", old=value) for key, value in old.items() if key not in new]
    return changes


def patch_body(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The smallest body that turns `old` into `new` under Auth0's merge: changed keys, null for removed."""
    return {c.key: (None if c.kind == "removed" else c.new) for c in diff(old, new)}


def merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """What Auth0 makes of `patch` sent over `current`: top-level merge, a null removes the key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _bad_keys(value: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if any(c in str(key) for c in FORBIDDEN_KEY_CHARACTERS):
                found.append(where)
            found += _bad_keys(inner, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _bad_keys(inner, f"{path}[{index}]")
    return found


def size_of(value: dict[str, Any]) -> int:
    """The metadata's size as Auth0 stores it (compact JSON, UTF-8)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def check_limits(field: str, result: dict[str, Any]) -> None:
    """Auth0's limits on the metadata as it will be after the save; MetadataInvalid in words."""
    words = WORDS.get(field, field)
    bad = _bad_keys(result)
    if bad:
        names = ", ".join(repr(b) for b in bad[:5])
        raise MetadataInvalid(
            f"Auth0 does not accept a dot (.) or a dollar sign ($) in metadata key names: {names} in the "
            f'{words}. Nest the value instead (for example {{"preference": {{"color": ...}}}}). '
            "Nothing was sent."
        )
    if field == "app_metadata":
        reserved = [key for key in result if key in RESERVED_APP_METADATA]
        if reserved:
            raise MetadataInvalid(
                f"Auth0 does not store these fields in app metadata: {', '.join(reserved)}. Use another "
                "name. Nothing was sent."
            )
    size = size_of(result)
    if size > METADATA_MAX_BYTES:
        raise MetadataInvalid(
            f"The {words} would be {size / 1024 / 1024:.1f} MB; Auth0 accepts at most 16 MB. Nothing was "
            "sent."
        )


@dataclass(frozen=True)
class MetadataEdit:
    """One checked metadata save: what the admin saw, what Auth0 will be sent, what it changes."""

    field: str
    body: dict[str, Any]
    changes: tuple[Change, ...]


def prepare(field: str, *, shown: dict[str, Any], text: str) -> MetadataEdit:
    """Parse, diff and check what the admin typed over the copy they were shown (raises MetadataInvalid)."""
    if field not in METADATA_FIELDS:
        raise ValueError(f"field must be one of {METADATA_FIELDS}")
    new = parse(text, field=field)
    changes = tuple(diff(shown, new))
    body = patch_body(shown, new)
    check_limits(field, merge(shown, body))
    return MetadataEdit(field=field, body=body, changes=changes)


# --- the profile --------------------------------------------------------------------------------------

# Auth0's lengths (the UpdateUserRequestContent schema of the Management API).
NAME_LIMITS = {"given_name": 150, "family_name": 150, "name": 300, "nickname": 300}
PROFILE_WORDS = {
    "name": "Name",
    "given_name": "Given name",
    "family_name": "Family name",
    "nickname": "Nickname",
    "picture": "Picture URL",
    "email": "Email",
    "phone_number": "Phone number",
}
PROFILE_FIELDS = tuple(PROFILE_WORDS)
# Fields only a database connection lets an admin change (Auth0 owns the rest for social/enterprise).
DATABASE_ONLY = ("email", "phone_number")
PHONE = re.compile(r"^\+[0-9]{1,15}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDP_OVERWRITES = (
    "This person signs in through {provider}. Auth0 may overwrite the name, nickname and picture with what "
    "{provider} sends at their next sign-in; change them there to make a change last."
)


def check_profile_field(field: str, value: str | None) -> str | None:
    """The value to send (stripped; None to unset) or ProfileInvalid saying why Auth0 would refuse it."""
    label = PROFILE_WORDS.get(field, field)
    text = (value or "").strip()
    if field in NAME_LIMITS:
        if not text:
            return None
        if len(text) > NAME_LIMITS[field]:
            raise ProfileInvalid(
                f"{label} is {len(text)} characters; Auth0 accepts at most {NAME_LIMITS[field]}.", field=field
            )
        return text
    if field == "picture":
        if not text:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
            raise ProfileInvalid(
                f"{label} must be a full web address starting with https:// (or http://).", field=field
            )
        return text
    if field == "email":
        if not EMAIL.match(text):
            raise ProfileInvalid(f"{label} must be an email address like name@example.com.", field=field)
        return text.lower()
    if field == "phone_number":
        if not text:
            return None
        compact = re.sub(r"[\s\-().]", "", text)
        if not PHONE.match(compact):
            raise ProfileInvalid(
                f"{label} must be in international form: a + then up to 15 digits (for example "
                "+14155550123).",
                field=field,
            )
        return compact
    raise ValueError(f"unknown profile field {field!r}")


@dataclass(frozen=True)
class ProfileEdit:
    """One checked profile save: the fields to send (None unsets one) and the verification options."""

    fields: dict[str, str | None]
    verify_email: bool = False  # Auth0 sends a verification email for the new address
    email_verified: bool = False  # the admin vouches for the new address
    phone_verified: bool = False

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.fields)
        if "email" in self.fields:
            if self.email_verified:
                body["email_verified"] = True
            elif self.verify_email:
                body["verify_email"] = True
            else:
                body["email_verified"] = False
        if "phone_number" in self.fields and self.phone_verified:
            body["phone_verified"] = True
        return body

    def sentences(self) -> list[str]:
        out = []
        for field, value in self.fields.items():
            label = PROFILE_WORDS[field]
            out.append(f"{label}: remove it" if value is None else f"{label}: {value}")
        if "email" in self.fields:
            if self.email_verified:
                out.append("The new email is marked as verified.")
            elif self.verify_email:
                out.append("Auth0 sends a verification email to the new address.")
            else:
                out.append("The new email is unverified until the person verifies it.")
        return out


def prepare_profile(
    current: Mapping[str, str | None],
    typed: Mapping[str, str | None],
    *,
    database: bool,
    verify_email: bool = False,
    email_verified: bool = False,
    phone_verified: bool = False,
) -> ProfileEdit:
    """Check each typed field and keep those that differ from the person's current values."""
    fields: dict[str, str | None] = {}
    for field, value in typed.items():
        if field in DATABASE_ONLY and not database:
            continue
        checked = check_profile_field(field, value)
        if checked != (current.get(field) or None):
            fields[field] = checked
    return ProfileEdit(
        fields=fields,
        verify_email=verify_email,
        email_verified=email_verified,
        phone_verified=phone_verified,
    )
