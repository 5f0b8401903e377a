"""Why can't this person sign in? A short verdict in words, with its evidence and the fix the page offers.

Streamlit-free: `diagnose` reads what the person's page fetched (the user, brute-force locks, the latest
log page, enrolled MFA) and returns verdicts, most serious first. A section that could not be read
(`Unavailable`) is said so, never guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from admin_core.domain import User
from admin_core.logcodes import SIGN_IN_FAILURE, SIGN_IN_SUCCESS, failure_reason
from admin_core.support import AuthMethod, BruteForceBlock, LogEvent, LogPage, Unavailable
from admin_core.timetext import relative_time


class Fix(StrEnum):
    """The fixes the person's page offers; a verdict names at most one."""

    UNBLOCK = "unblock"  # PATCH blocked: false
    UNLOCK = "unlock"  # DELETE /api/v2/user-blocks/{id}
    PASSWORD = "password"  # reset email or reset link (database connections only)
    VERIFY_EMAIL = "verify_email"  # resend verification email / mark as verified
    RESET_MFA = "reset_mfa"  # DELETE /api/v2/users/{id}/authenticators

    @property
    def label(self) -> str:
        """The fix as the page's button names it, for "Fix: ..." under a verdict."""
        return FIX_LABELS[self]


class Severity(StrEnum):
    PROBLEM = "problem"  # this stops the person signing in
    WARNING = "warning"  # may be the cause
    NOTE = "note"  # worth knowing while helping them (how they sign in)
    UNKNOWN = "unknown"  # a section could not be read
    OK = "ok"  # nothing found


FIX_LABELS = {
    Fix.UNBLOCK: "Unblock",
    Fix.UNLOCK: "Unblock for all IPs",
    Fix.PASSWORD: "Send password reset email",
    Fix.VERIFY_EMAIL: "Resend verification email",
    Fix.RESET_MFA: "Reset MFA",
}


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    headline: str  # "Blocked by an admin"
    evidence: str = ""  # what it rests on, in words
    fix: Fix | None = None


# Connections whose password lives elsewhere, by Auth0 strategy/provider name, in the words people use.
PROVIDERS = {
    "google-oauth2": "Google",
    "github": "GitHub",
    "windowslive": "Microsoft",
    "facebook": "Facebook",
    "apple": "Apple",
    "linkedin": "LinkedIn",
    "twitter": "X (Twitter)",
    "samlp": "a SAML identity provider",
    "waad": "Microsoft Entra ID",
    "adfs": "ADFS",
    "oidc": "an OpenID Connect identity provider",
    "okta": "Okta",
    "ad": "Active Directory",
}
DATABASE_PROVIDER = "auth0"  # identities[].provider of database connections
MFA_FAILURES = frozenset(
    {"gd_auth_failed", "gd_auth_rejected", "gd_otp_rate_limit_exceed", "gd_recovery_failed"}
)


def has_password(user: User) -> bool:
    """Whether the person signs in with a password kept by Auth0 (a database connection)."""
    return any(i.get("provider") == DATABASE_PROVIDER for i in user.identities)


def provider_name(user: User) -> str | None:
    """Who keeps the password of a social or enterprise user ("Google"); None for database users."""
    if has_password(user) or not user.identities:
        return None
    first = user.identities[0]
    provider = str(first.get("provider") or "")
    return (
        PROVIDERS.get(provider)
        or PROVIDERS.get(str(first.get("connection") or ""))
        or (str(first.get("connection") or provider) or None)
    )


def _addresses(blocks: Sequence[BruteForceBlock]) -> str:
    ips = list(dict.fromkeys(b.ip for b in blocks if b.ip))
    if not ips:
        return ""
    if len(ips) == 1:
        return f" from {ips[0]}"
    others = len(ips) - 1
    return f" from {ips[0]} and {others} other address{'es' if others != 1 else ''}"


def _failed_streak(events: Sequence[LogEvent]) -> list[LogEvent]:
    """The failed sign-in attempts since the last successful one, newest first."""
    streak: list[LogEvent] = []
    for event in sorted(events, key=lambda e: e.date.timestamp() if e.date else 0.0, reverse=True):
        if event.type in SIGN_IN_SUCCESS:
            break
        if event.type in SIGN_IN_FAILURE:
            streak.append(event)
    return streak


def _last_success(events: Sequence[LogEvent]) -> datetime | None:
    times = [e.date for e in events if e.type in SIGN_IN_SUCCESS and e.date]
    return max(times) if times else None


def _reasons(streak: Sequence[LogEvent]) -> str:
    counts = Counter(failure_reason(e.type) for e in streak)
    return ", ".join(reason for reason, _ in counts.most_common())


def diagnose(
    user: User,
    *,
    blocks: Sequence[BruteForceBlock] | Unavailable,
    logs: LogPage | Unavailable,
    mfa: Sequence[AuthMethod] | Unavailable,
    now: datetime,
) -> tuple[Verdict, ...]:
    """Every verdict for this person, most serious first; never empty."""
    found: list[Verdict] = []
    if user.blocked:
        found.append(
            Verdict(
                Severity.PROBLEM,
                "Blocked by an admin",
                "Auth0 refuses every sign-in of a blocked user, whatever the password.",
                Fix.UNBLOCK,
            )
        )
    if isinstance(blocks, Unavailable):
        found.append(Verdict(Severity.UNKNOWN, "Brute-force locks could not be checked", blocks.message))
    elif blocks:
        found.append(
            Verdict(
                Severity.PROBLEM,
                f"Locked out after too many wrong passwords{_addresses(blocks)} (brute-force protection)",
                "Auth0 refuses sign-ins from that address until the lock is removed or the person resets "
                "their password.",
                Fix.UNLOCK,
            )
        )
    events: Sequence[LogEvent] = ()
    if isinstance(logs, Unavailable):
        found.append(Verdict(Severity.UNKNOWN, "The sign-in history could not be read", logs.message))
    else:
        events = logs.events
        streak = _failed_streak(events)
        if streak:
            newest = streak[0]
            when = relative_time(newest.date, now=now)
            headline = (
                f"Last {len(streak)} sign-in attempts failed: {_reasons(streak)}, most recently {when}"
                if len(streak) > 1
                else f"The last sign-in attempt failed: {_reasons(streak)}, {when}"
            )
            mfa_failed = sum(e.type in MFA_FAILURES for e in streak)
            wrong_password = sum(e.type == "fp" for e in streak)
            fix: Fix | None = None
            evidence = "From the person's Auth0 log (Activity below)."
            if mfa_failed and mfa_failed >= wrong_password:
                fix = Fix.RESET_MFA
                evidence += " If they lost their second factor, reset their MFA so they can enrol again."
            elif wrong_password and has_password(user):
                fix = Fix.PASSWORD
                evidence += " If they forgot their password, send them a reset."
            elif any(e.type == "fu" for e in streak):
                evidence += " They may be typing a different email or username."
            found.append(Verdict(Severity.WARNING, headline, evidence, fix))
    if user.email_verified is False:
        found.append(
            Verdict(
                Severity.WARNING,
                "Email not verified",
                "Applications that require a verified email refuse them until they verify it.",
                Fix.VERIFY_EMAIL,
            )
        )
    provider = provider_name(user)
    if provider:
        found.append(
            Verdict(
                Severity.NOTE,
                f"Signs in with {provider}; no password to reset here",
                f"Their password (and any lock on it) is kept by {provider}.",
            )
        )
    if isinstance(mfa, Unavailable):
        found.append(Verdict(Severity.UNKNOWN, "Enrolled MFA could not be read", mfa.message))
    if not any(v.severity in (Severity.PROBLEM, Severity.WARNING) for v in found):
        last = _last_success(events) or user.last_login
        partial = " in what could be read" if any(v.severity is Severity.UNKNOWN for v in found) else ""
        if last is None:
            headline = f"No problem found{partial}: they have never signed in"
        else:
            headline = f"No problem found{partial}: last successful sign-in {relative_time(last, now=now)}"
        found.append(Verdict(Severity.OK, headline))
    order = list(Severity)
    return tuple(sorted(found, key=lambda v: order.index(v.severity)))
