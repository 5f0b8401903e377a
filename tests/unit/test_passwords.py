"""Auth0's password policy levels, checked before a password is sent (admin_core.passwords)."""

import pytest

from admin_core.passwords import LEVELS, PasswordPolicy, problems, random_password


def ok(password: str, level: str, min_length: int | None = None) -> bool:
    return not problems(password, PasswordPolicy(level, min_length))


def test_none_needs_one_character():
    assert ok("a", "none") and not ok("", "none")


def test_low_needs_six_characters_of_any_kind():
    assert ok("aaaaaa", "low") and not ok("aaaaa", "low")


def test_fair_needs_eight_with_lower_upper_and_number():
    assert ok("Abcdefg1", "fair")
    assert not ok("abcdefg1", "fair")  # no upper case
    assert not ok("Abcdefgh", "fair")  # no number
    assert not ok("Abcdef1", "fair")  # seven
    assert problems("abcdefgh", PasswordPolicy("fair")) == [
        "Include upper case letters (A-Z) and numbers (0-9)."
    ]


def test_good_needs_three_of_the_four_kinds():
    assert ok("abcdefg1!", "good") and ok("Abcdefg1", "good") and ok("ABCDEFG1 ", "good")
    assert not ok("abcdefg1", "good")  # two kinds
    assert not ok("Abc1!", "good")  # short


def test_excellent_needs_ten_and_no_three_identical_in_a_row():
    assert ok("Abcdefgh1!", "excellent")
    assert not ok("Abcdefg1!", "excellent")  # nine
    assert not ok("Abcdefff1!", "excellent")
    assert ok("Abcdeff1!x", "excellent")  # two in a row is allowed
    (said,) = problems("Abcdefff1!", PasswordPolicy("excellent"))
    assert "2 identical characters in a row" in said


def test_the_connections_min_length_replaces_the_levels():
    assert not ok("Abcdefg1", "good", min_length=12)
    assert ok("abc", "low", min_length=3)


def test_policy_from_connection_options():
    assert PasswordPolicy.from_options(None) is None  # options not sent: unknown
    assert PasswordPolicy.from_options({}) == PasswordPolicy("none")
    policy = PasswordPolicy.from_options(
        {"passwordPolicy": "excellent", "password_complexity_options": {"min_length": 14}}
    )
    assert policy == PasswordPolicy("excellent", 14) and policy.length == 14
    assert "14 characters" in policy.describe() and "excellent policy" in policy.describe()


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError):
        PasswordPolicy("strong")


@pytest.mark.parametrize("level", LEVELS)
def test_the_random_password_passes_every_level(level):
    policy = PasswordPolicy(level, 64 if level == "good" else None)
    for _ in range(20):
        password = random_password(policy)
        assert not problems(password, policy) and len(password) >= max(40, policy.length)
    assert random_password() != random_password()


# --- the bulk list (admin_core.newusers.parse_bulk) -----------------------------------------------------


def test_bulk_rows_from_pasted_lines_and_from_a_csv_with_a_header():
    from admin_core.newusers import parse_bulk

    pasted = parse_bulk("ada@example.org, Ada Lovelace\n\nBob@Example.org\n")
    assert [(r.line, r.email, r.name, r.problem) for r in pasted] == [
        (1, "ada@example.org", "Ada Lovelace", None),
        (3, "bob@example.org", None, None),
    ]
    csv_file = parse_bulk('name,email\n"Lovelace, Ada",ada@example.org\r\n,bob@example.org\r\n')
    assert [(r.email, r.name) for r in csv_file] == [
        ("ada@example.org", "Lovelace, Ada"),
        ("bob@example.org", None),
    ]


def test_bulk_rows_mark_repeats_and_bad_addresses():
    from admin_core.newusers import parse_bulk

    rows = parse_bulk("ada@example.org\nnot-an-email\nADA@example.org")
    assert rows[0].problem is None
    assert "does not look like an email" in rows[1].problem
    assert "twice" in rows[2].problem
