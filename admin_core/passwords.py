"""Auth0's password policy levels for database connections, checked before a password is sent.

The levels as Auth0 documents them ("Password Strength in Auth0 Database Connections"):

- none: at least 1 character;
- low: at least 6 characters;
- fair: at least 8 characters, with a lower-case letter, an upper-case letter and a number;
- good: at least 8 characters, with 3 of the 4 kinds (lower case, upper case, numbers, special characters);
- excellent: at least 10 characters, 3 of the 4 kinds, and no more than 2 identical characters in a row.

A connection's `password_complexity_options.min_length` (1-128) replaces the level's length. Auth0 still
checks on its side (and has rules this does not know: history, dictionary, personal data); its refusal is
shown as it says it.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

LEVELS = ("none", "low", "fair", "good", "excellent")
LENGTHS = {"none": 1, "low": 6, "fair": 8, "good": 8, "excellent": 10}
# Auth0 counts any ASCII punctuation or space as a special character (its examples: !@#$%^&*).
SPECIAL = set(string.punctuation + " ")
KINDS = (
    ("lower case letters (a-z)", lambda c: c.islower()),
    ("upper case letters (A-Z)", lambda c: c.isupper()),
    ("numbers (0-9)", lambda c: c.isdigit()),
    ("special characters (e.g. !@#$%^&*)", lambda c: c in SPECIAL),
)
_THREE_IN_A_ROW = re.compile(r"(.)\1\1", re.DOTALL)


@dataclass(frozen=True)
class PasswordPolicy:
    """A database connection's policy: Auth0's level and an optional minimum length replacing the level's."""

    level: str = "good"
    min_length: int | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown password policy level {self.level!r}; Auth0's are {', '.join(LEVELS)}")

    @classmethod
    def from_options(cls, options: dict | None) -> PasswordPolicy | None:
        """From a connection's `options` (None when Auth0 did not send them: the policy is unknown)."""
        if not isinstance(options, dict):
            return None
        level = options.get("passwordPolicy") or "none"  # Auth0: no policy set means "none"
        complexity = options.get("password_complexity_options") or {}
        raw = complexity.get("min_length") if isinstance(complexity, dict) else None
        min_length = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None
        return cls(level=level if level in LEVELS else "none", min_length=min_length)

    @property
    def length(self) -> int:
        return self.min_length or LENGTHS[self.level]

    def describe(self) -> str:
        """The policy in one sentence, as the admin reads it next to the password field."""
        text = f"At least {self.length} character{'s' if self.length != 1 else ''}"
        if self.level == "fair":
            text += ", with a lower-case letter, an upper-case letter and a number"
        elif self.level in ("good", "excellent"):
            text += ", with 3 of: lower case letters, upper case letters, numbers, special characters"
        if self.level == "excellent":
            text += "; no more than 2 identical characters in a row"
        return f"{text} (Auth0's {self.level} policy)."


def problems(password: str, policy: PasswordPolicy) -> list[str]:
    """What the password lacks under the policy, one sentence each; empty when it passes."""
    found: list[str] = []
    if len(password) < policy.length:
        found.append(f"Use at least {policy.length} characters (this one has {len(password)}).")
    kinds = [name for name, test in KINDS if any(test(c) for c in password)]
    if policy.level == "fair":
        missing = [name for name, _ in KINDS[:3] if name not in kinds]
        if missing:
            found.append("Include " + _and(missing) + ".")
    elif policy.level in ("good", "excellent") and len(kinds) < 3:
        found.append(
            "Include at least 3 of these 4 kinds of characters: lower case letters (a-z), upper case "
            f"letters (A-Z), numbers (0-9), special characters (e.g. !@#$%^&*); this one has {len(kinds)}."
        )
    if policy.level == "excellent" and _THREE_IN_A_ROW.search(password):
        found.append("Do not use more than 2 identical characters in a row (like 111 or aaa).")
    return found


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# Stronger than any level (and any min_length up to Auth0's 128 maximum once raised to it).
RANDOM_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits + "!@#$%^&*-_=+"


def random_password(policy: PasswordPolicy | None = None) -> str:
    """A password nobody sees (an invited person sets their own through the ticket), meeting every level."""
    strictest = PasswordPolicy("excellent", max(RANDOM_LENGTH, policy.length if policy else 0))
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(strictest.length))
        if not problems(candidate, strictest) and all(any(test(c) for c in candidate) for _, test in KINDS):
            return candidate
