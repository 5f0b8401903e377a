"""Why can't this person sign in? A short verdict in words, with its evidence and the fix the page offers.

Streamlit-free: `diagnose` reads what the person's page fetched (the user, brute-force locks, the latest
log page, enrolled MFA) and returns verdicts, most serious first. A section that could not be read
(`Unavailable`) is said so, never guessed at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from admin_core.domain import User
from admin_core.support import AuthMethod, BruteForceBlock, LogPage, Unavailable


class Fix(StrEnum):
    """The fixes the person's page offers; a verdict names at most one."""

    UNBLOCK = "unblock"  # PATCH blocked: false
    UNLOCK = "unlock"  # DELETE /api/v2/user-blocks/{id}
    PASSWORD = "password"  # reset email or reset link (database connections only)
    VERIFY_EMAIL = "verify_email"  # resend verification email / mark as verified
    RESET_MFA = "reset_mfa"  # DELETE /api/v2/users/{id}/authenticators


class Severity(StrEnum):
    PROBLEM = "problem"  # this stops the person signing in
    WARNING = "warning"  # may be the cause
    OK = "ok"  # nothing found
    UNKNOWN = "unknown"  # a section could not be read


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    headline: str  # "Blocked by an admin"
    evidence: str = ""  # what it rests on, in words
    fix: Fix | None = None


def diagnose(
    user: User,
    *,
    blocks: Sequence[BruteForceBlock] | Unavailable,
    logs: LogPage | Unavailable,
    mfa: Sequence[AuthMethod] | Unavailable,
    now: datetime,
) -> tuple[Verdict, ...]:
    """Every verdict for this person, most serious first; never empty."""
    raise NotImplementedError  # filled in on the core branch
