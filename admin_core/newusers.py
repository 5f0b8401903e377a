"""New users and invitations: the records crossing module lines, and the bulk list read from pasted text or CSV.

Streamlit-free and SDK-free: `admin_core.auth0.creation` builds `DatabaseConnection`s from Auth0's answer,
`admin_core.invitations` runs the audited changes, `admin_core.ui.newuser` draws them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from admin_core.domain import User
from admin_core.passwords import PasswordPolicy

# Loose on purpose: Auth0 has the last word on an address; this catches typing slips before any call.
EMAIL = re.compile(r"^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$")
BULK_MAX_ROWS = 200  # each row is one create and one ticket: Auth0's write limits make more a batch job
NAME_MAX = 300


@dataclass(frozen=True)
class DatabaseConnection:
    """A database (username/password) connection new users can be created in."""

    name: str
    connection_id: str | None = None
    display_name: str | None = None
    policy: PasswordPolicy | None = None  # None: Auth0 did not send the options (read:connections_options)

    @property
    def label(self) -> str:
        if self.display_name and self.display_name != self.name:
            return f"{self.display_name} ({self.name})"
        return self.name


@dataclass(frozen=True)
class Invitation:
    """A created person and how they get in: a link (a secret shown once) or Auth0's reset email."""

    user: User
    link: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    emailed: bool = False


@dataclass(frozen=True)
class BulkRow:
    """One line of a bulk invite: its number in the input, the email, an optional name, and what is wrong."""

    line: int
    email: str
    name: str | None = None
    problem: str | None = None


@dataclass
class BulkReport:
    """What a bulk invite did, row by row."""

    invited: list[tuple[BulkRow, Invitation]] = field(default_factory=list)
    skipped: list[tuple[BulkRow, str | None]] = field(default_factory=list)  # already present: their user_id
    failed: list[tuple[BulkRow, str]] = field(default_factory=list)


def email_problem(email: str) -> str | None:
    if not email:
        return "Enter an email address."
    if not EMAIL.match(email):
        return f"{email} does not look like an email address."
    return None


def parse_bulk(text: str) -> list[BulkRow]:
    """Rows from pasted lines or a CSV file: `email[,name]` per line, an optional header line naming
    `email` (and `name`) columns; blank lines skipped; repeats and bad addresses marked, not dropped."""
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    reader = csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    records = [(number, [cell.strip() for cell in record]) for number, record in enumerate(reader, 1)]
    records = [(n, r) for n, r in records if any(r)]
    email_col, name_col = 0, 1
    if records:
        header = [cell.lower() for cell in records[0][1]]
        if "email" in header:
            email_col = header.index("email")
            name_col = header.index("name") if "name" in header else -1
            records = records[1:]
    rows: list[BulkRow] = []
    seen: set[str] = set()
    for number, record in records:
        email = record[email_col].lower() if email_col < len(record) else ""
        name = record[name_col] if 0 <= name_col < len(record) and record[name_col] else None
        problem = email_problem(email)
        if problem is None and email in seen:
            problem = "Listed twice; this line is left out."
        if problem is None and name and len(name) > NAME_MAX:
            problem = f"The name is longer than {NAME_MAX} characters."
        if problem is None and len([r for r in rows if r.problem is None]) >= BULK_MAX_ROWS:
            problem = f"More than {BULK_MAX_ROWS} rows: invite the rest in another batch."
        seen.add(email)
        rows.append(BulkRow(line=number, email=email, name=name, problem=problem))
    return rows
