"""The person page's diagnosis: what each state of a person reads as, in words, and which fix it names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_core.domain import User
from admin_core.logcodes import describe, is_failure
from admin_core.support import AuthMethod, BruteForceBlock, LogEvent, LogPage, Unavailable
from admin_core.verdicts import Fix, Severity, diagnose

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DB = ({"provider": "auth0", "connection": "Username-Password-Authentication", "user_id": "1"},)
GOOGLE = ({"provider": "google-oauth2", "connection": "google-oauth2", "user_id": "1"},)


def person(**fields) -> User:
    fields.setdefault("identities", DB)
    fields.setdefault("email_verified", True)
    return User(user_id="auth0|1", email="ada@example.com", **fields)


def event(code: str, minutes_ago: float, ip: str = "203.0.113.4") -> LogEvent:
    return LogEvent(
        log_id=f"{code}-{minutes_ago}", type=code, date=NOW - timedelta(minutes=minutes_ago), ip=ip
    )


def page(*events: LogEvent) -> LogPage:
    return LogPage(events=events, page=0, per_page=50, total=len(events))


def verdicts(user: User, *, blocks=(), logs=None, mfa=()):
    return diagnose(user, blocks=blocks, logs=logs if logs is not None else page(), mfa=mfa, now=NOW)


def headlines(found) -> list[str]:
    return [v.headline for v in found]


def test_blocked_by_an_admin_names_unblock():
    found = verdicts(person(blocked=True))
    assert (found[0].severity, found[0].headline, found[0].fix) == (
        Severity.PROBLEM,
        "Blocked by an admin",
        Fix.UNBLOCK,
    )
    assert found[0].fix.label == "Unblock"


def test_brute_force_lock_names_the_address_and_unlock():
    found = verdicts(person(), blocks=[BruteForceBlock(identifier="ada@example.com", ip="203.0.113.4")])
    assert headlines(found)[0] == (
        "Locked out after too many wrong passwords from 203.0.113.4 (brute-force protection)"
    )
    assert found[0].fix is Fix.UNLOCK and found[0].fix.label == "Unblock for all IPs"


def test_locks_from_several_addresses_are_counted():
    blocks = [
        BruteForceBlock(ip="203.0.113.4"),
        BruteForceBlock(ip="198.51.100.7"),
        BruteForceBlock(ip="192.0.2.1"),
    ]
    assert headlines(verdicts(person(), blocks=blocks))[0] == (
        "Locked out after too many wrong passwords from 203.0.113.4 and 2 other addresses (brute-force protection)"
    )


def test_failed_attempts_since_the_last_success_are_counted_in_words():
    logs = page(*(event("fp", 12 + i) for i in range(5)), event("s", 60 * 24))
    found = verdicts(person(), logs=logs)
    assert headlines(found) == [
        "Last 5 sign-in attempts failed: wrong password, most recently 12 minutes ago"
    ]
    assert found[0].severity is Severity.WARNING and found[0].fix is Fix.PASSWORD


def test_failures_before_a_success_are_not_a_problem():
    logs = page(event("s", 120), event("fp", 130), event("fp", 140))
    assert headlines(verdicts(person(), logs=logs)) == [
        "No problem found: last successful sign-in 2 hours ago"
    ]


def test_one_failure_and_mixed_reasons():
    assert headlines(verdicts(person(), logs=page(event("fu", 3))))[0] == (
        "The last sign-in attempt failed: unknown email or username, 3 minutes ago"
    )
    mixed = page(event("fp", 1), event("fp", 2), event("limit_wc", 3), event("sapi", 4))
    assert headlines(verdicts(person(), logs=mixed))[0] == (
        "Last 3 sign-in attempts failed: wrong password, blocked by brute-force protection, most recently "
        "1 minute ago"
    )


def test_mfa_failures_name_reset_mfa():
    logs = page(event("gd_auth_failed", 5), event("gd_otp_rate_limit_exceed", 6))
    found = verdicts(person(), logs=logs, mfa=[AuthMethod(method_id="totp|1", type="totp")])
    assert found[0].fix is Fix.RESET_MFA


def test_social_user_has_no_password_here_and_no_password_fix():
    found = verdicts(person(identities=GOOGLE), logs=page(event("fp", 1)))
    assert "Signs in with Google; no password to reset here" in headlines(found)
    assert all(v.fix is not Fix.PASSWORD for v in found)


def test_unverified_email_names_the_verification_fix():
    found = verdicts(person(email_verified=False))
    assert [(v.headline, v.fix) for v in found] == [("Email not verified", Fix.VERIFY_EMAIL)]


def test_nothing_wrong_says_when_they_last_signed_in():
    logs = page(event("s", 120))
    assert headlines(verdicts(person(), logs=logs)) == [
        "No problem found: last successful sign-in 2 hours ago"
    ]
    never = verdicts(person(), logs=page())
    assert headlines(never) == ["No problem found: they have never signed in"]
    from_profile = verdicts(person(last_login=NOW - timedelta(days=3)), logs=page())
    assert headlines(from_profile) == ["No problem found: last successful sign-in 3 days ago"]


def test_a_section_that_could_not_be_read_is_said_not_guessed():
    missing = Unavailable("This needs the Management API scope read:logs.", scope="read:logs")
    found = verdicts(person(), logs=missing, blocks=Unavailable("Auth0 is having trouble (HTTP 503)."))
    assert headlines(found) == [
        "Brute-force locks could not be checked",
        "The sign-in history could not be read",
        "No problem found in what could be read: they have never signed in",
    ]
    assert found[1].evidence == "This needs the Management API scope read:logs."
    assert {v.severity for v in found[:2]} == {Severity.UNKNOWN}


def test_most_serious_first():
    found = verdicts(
        person(blocked=True, email_verified=False),
        blocks=[BruteForceBlock(ip="203.0.113.4")],
        logs=page(event("fp", 1)),
    )
    assert [v.severity for v in found] == [
        Severity.PROBLEM,
        Severity.PROBLEM,
        Severity.WARNING,
        Severity.WARNING,
    ]
    assert not any(v.severity is Severity.OK for v in found)


def test_log_codes_in_words():
    assert describe("s") == "Success Login"
    assert describe("fp") == "Failed Login (Incorrect Password)"
    assert describe("limit_wc") == "Blocked Account"
    assert describe("no_such_code") == "no_such_code"
    assert is_failure("fp") and is_failure("limit_wc") and is_failure("gd_send_sms_failure")
    assert not is_failure("s") and not is_failure("sapi") and not is_failure("ublkdu")
