"""In-process checks of the pure parts: generated people, search compilation (with hypothesis)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtenant.people import People, iso_ms
from devtenant.search import QueryError, compile_query, make_doc

NOW = 1_790_000_000_000
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def people() -> list[dict]:
    return People(7, NOW, "http://127.0.0.1:1").generate(4000)


def test_generation_is_deterministic():
    a = People(3, NOW, "http://x").generate(300)
    b = People(3, NOW, "http://x").generate(300)
    assert a == b
    assert a != People(4, NOW, "http://x").generate(300)


def test_people_look_like_auth0_users(people):
    n = len(people)
    emails = [u["email"] for u in people]
    assert len(set(emails)) == n and all(e == e.lower() for e in emails)
    providers = Counter(u["user_id"].split("|")[0] for u in people)
    assert set(providers) == {"auth0", "google-oauth2", "github"}
    for u in people:
        prov, raw = u["user_id"].split("|")
        assert {"auth0": r"[0-9a-f]{24}", "google-oauth2": r"\d{21}", "github": r"\d{8}"}[prov]
        assert re.fullmatch(
            {"auth0": r"[0-9a-f]{24}", "google-oauth2": r"\d{21}", "github": r"\d{8}"}[prov], raw
        )
        assert u["identities"][0]["user_id"] == raw
        for f in ("created_at", "updated_at", "last_login"):
            assert f not in u or ISO.match(u[f])
        assert ("last_login" in u) == ("logins_count" in u) == ("last_ip" in u)
    never = sum("last_login" not in u for u in people) / n
    blocked = sum(u.get("blocked") is True for u in people) / n
    no_picture = sum("picture" not in u for u in people) / n
    no_name_key = sum("name" not in u for u in people)
    assert 0.12 < never < 0.18 and 0.03 < blocked < 0.07 and 0.07 < no_picture < 0.13 and no_name_key > 0
    assert any(u.get("email_verified") is False for u in people)
    recent = sum(u["created_at"] >= iso_ms(NOW - 7 * 86_400_000) for u in people)
    assert recent > 0.03 * n
    oldest = min(u["created_at"] for u in people)
    assert oldest < iso_ms(NOW - 2 * 365 * 86_400_000)


SPECIAL = '+-&|!(){}[]^"~*?:\\/ '


def escape(text: str) -> str:
    return "".join("\\" + c if c in SPECIAL else c for c in text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab" + SPECIAL), min_size=1, max_size=12))
def test_escaped_values_are_literal(value):
    user = {"user_id": "auth0|1", "email": "x@example.com", "nickname": value, "identities": []}
    other = {"user_id": "auth0|2", "email": "y@example.com", "nickname": value + "z", "identities": []}
    pred = compile_query(f"nickname:{escape(value)}")
    assert pred(make_doc(user)) and not pred(make_doc(other))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_any_query_compiles_or_raises_query_error(q):
    try:
        pred = compile_query(q)
    except QueryError:
        return
    pred(
        make_doc(
            {
                "user_id": "auth0|1",
                "email": "a@b.c",
                "name": "A B",
                "identities": [{"connection": "x"}],
                "app_metadata": {"a": [1, "x"]},
                "logins_count": 3,
                "created_at": "2026-01-01T00:00:00.000Z",
            }
        )
    )


@pytest.mark.parametrize(
    "q, hit",
    [
        ("created_at:2026-10-01", True),
        ("created_at:[2026-10-01 TO 2026-10-01]", True),
        ("created_at:{2026-10-01 TO *]", False),
        ("created_at:[* TO 2026-10-01}", False),
        ("created_at:2026-10", True),
        ("created_at:[2026-10-01T23:59:59Z TO *]", True),
        ("created_at:>2026-10-01T23:59:59.999Z", False),
        ("created_at:2026-10-01T23\\:59\\:59.999Z", True),
        ("created_at:2026-10-01T23\\:59\\:59.998Z", False),
        ("last_login:*", False),
        ("_exists_:last_login", False),
        ("NOT _exists_:last_login", True),
        ("identities.connection:github", True),
        ("_exists_:identities.connection", True),
        ("app_metadata.tags:red", True),
        ("app_metadata.tags:r*", True),
        ("app_metadata.n:5", True),
        ("app_metadata.flag:true", True),
        ("unknown_field:x", False),
        ("name:(ann OR bob)", False),
        ('name:("ann lee" OR bob)', True),
        ("ann", True),
        ("lee", True),
        ("a*", True),
        ("*@example.com", True),
    ],
)
def test_query_semantics(q, hit):
    user = {
        "user_id": "github|12345678",
        "email": "ann@example.com",
        "name": "Ann Lee",
        "created_at": "2026-10-01T23:59:59.999Z",
        "identities": [{"connection": "github"}],
        "app_metadata": {"tags": ["red", "blue"], "n": 5, "flag": True},
    }
    assert bool(compile_query(q)(make_doc(user))) is hit


def test_drawn_histories_agree_with_the_users(people):
    """Over 4000 users: logins as logins_count says, nothing in the future, locks after ten wrong passwords."""
    from devtenant.support import MAX_FAILURES, Support

    support = Support(7, NOW, "http://127.0.0.1:1", {u["user_id"] for u in people})
    traits = Counter()
    for user in people:
        rec = support.record(user)
        events = support.sorted_events(rec)
        assert all(ISO.match(e["date"]) and e["date"] <= iso_ms(NOW) for e in events)
        successes = [e for e in events if e["type"] == "s"]
        assert len(successes) == min(int(user.get("logins_count") or 0), 60)
        if successes:
            assert successes[0]["date"] == user["last_login"]
        if rec.blocks:
            traits["locked"] += 1
            (ip,) = rec.blocks
            since = [e for e in events if e["date"] > (user.get("last_login") or "")]
            assert [e["type"] for e in since if e["type"] == "fp" and e["ip"] == ip] == ["fp"] * MAX_FAILURES
            assert events[0]["type"] == "limit_wc"
        traits["mfa"] += bool(rec.methods)
        traits["sessions"] += bool(rec.sessions)
        traits["failing"] += bool(rec.failures) and not rec.blocks
    assert 0.02 < traits["locked"] / len(people) < 0.05
    assert 0.15 < traits["mfa"] / len(people) < 0.25
    assert traits["sessions"] > 100 and traits["failing"] > 150
    again = Support(7, NOW, "http://127.0.0.1:1", {u["user_id"] for u in people})
    assert again.sorted_events(again.record(people[10])) == support.sorted_events(support.record(people[10]))


def test_users_outside_the_generated_set_get_only_their_logins(people):
    from devtenant.support import Support

    support = Support(7, NOW, "http://127.0.0.1:1", set())
    for user in people[:500]:
        rec = support.record(user)
        assert {e["type"] for e in rec.events} <= {"s"}
        assert not rec.blocks and not rec.methods and not rec.sessions
