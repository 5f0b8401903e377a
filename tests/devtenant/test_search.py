"""Lucene (search_engine=v3) search through the SDK; expected sets computed from /__dev/users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from auth0.management.core.api_error import ApiError


def search(raw, q: str, **params) -> tuple[set[str], int]:
    ids: set[str] = set()
    total = None
    for page in range(20):
        body = raw.get(
            "/users",
            params={
                "q": q,
                "search_engine": "v3",
                "include_totals": "true",
                "per_page": 100,
                "page": page,
                **params,
            },
        )
        assert body.status_code == 200, body.text
        data = body.json()
        total = data["total"]
        ids |= {u["user_id"] for u in data["users"]}
        if len(data["users"]) < 100:
            break
    return ids, total


def expect(dt, pred) -> set[str]:
    return {u["user_id"] for u in dt.users() if pred(u)}


def check(raw, dt, q, pred):
    got, total = search(raw, q)
    want = expect(dt, pred)
    assert got == want, q
    assert total == len(want)
    return want


def test_field_exact_case_insensitive(raw, dt):
    want = check(raw, dt, "email:ADMIN@example.com", lambda u: u["email"] == "admin@example.com")
    assert len(want) == 1


def test_phrase(raw, dt):
    check(raw, dt, 'name:"ada admin"', lambda u: (u.get("name") or "").lower() == "ada admin")


@pytest.mark.parametrize(
    "q, pred",
    [
        ("email:adm*", lambda u: u["email"].startswith("adm")),
        ("email:*@example.net", lambda u: u["email"].endswith("@example.net")),
        ("name:*an*", lambda u: "an" in (u.get("name") or "").lower()),
        (
            "email:a*e*@example.org",
            lambda u: (
                u["email"].startswith("a")
                and u["email"].endswith("@example.org")
                and "e" in u["email"][1 : -len("@example.org")]
            ),
        ),
    ],
)
def test_wildcards(raw, dt, q, pred):
    assert check(raw, dt, q, pred)


def test_created_at_ranges(raw, dt):
    users = dt.users()
    day = sorted(u["created_at"] for u in users)[len(users) // 2][:10]
    end = (datetime.fromisoformat(day) + timedelta(days=40)).date().isoformat()
    # a bare date as upper bound includes that whole day
    check(raw, dt, f"created_at:[{day} TO {end}]", lambda u: day <= u["created_at"][:10] <= end)
    check(raw, dt, f"created_at:{{{day} TO {end}}}", lambda u: day < u["created_at"][:10] < end)
    check(raw, dt, f"created_at:[{day} TO *]", lambda u: u["created_at"][:10] >= day)
    stamp = sorted(u["created_at"] for u in users)[40]
    check(raw, dt, f"created_at:[* TO {stamp}]", lambda u: u["created_at"] <= stamp)
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    recent = check(raw, dt, f"created_at:[{since} TO *]", lambda u: u["created_at"] >= since)
    assert recent  # some users were created in the last 7 days


def test_logins_count_range_and_exists(raw, dt):
    check(raw, dt, "logins_count:[10 TO 30]", lambda u: "logins_count" in u and 10 <= u["logins_count"] <= 30)
    check(raw, dt, "logins_count:{10 TO *]", lambda u: "logins_count" in u and u["logins_count"] > 10)
    check(raw, dt, "logins_count:>=50", lambda u: u.get("logins_count", -1) >= 50)
    never = check(raw, dt, "NOT _exists_:last_login", lambda u: "last_login" not in u)
    assert len(never) > 5
    check(raw, dt, "_exists_:app_metadata.plan", lambda u: "plan" in (u.get("app_metadata") or {}))


def test_boolean_and_operators(raw, dt):
    blocked = check(raw, dt, "blocked:true", lambda u: u.get("blocked") is True)
    assert blocked
    check(raw, dt, "NOT blocked:true", lambda u: u.get("blocked") is not True)
    check(
        raw,
        dt,
        "-blocked:true AND email_verified:false",
        lambda u: u.get("blocked") is not True and u.get("email_verified") is False,
    )
    check(
        raw,
        dt,
        "identities.connection:github OR identities.connection:google-oauth2",
        lambda u: u["identities"][0]["connection"] in ("github", "google-oauth2"),
    )
    check(
        raw,
        dt,
        'identities.connection:"Username-Password-Authentication" email:*example.com',
        lambda u: (
            u["identities"][0]["connection"] == "Username-Password-Authentication"
            and u["email"].endswith("example.com")
        ),
    )
    check(
        raw,
        dt,
        "(app_metadata.plan:pro OR app_metadata.plan:enterprise) AND NOT user_metadata.locale:en",
        lambda u: (
            (u.get("app_metadata") or {}).get("plan") in ("pro", "enterprise")
            and (u.get("user_metadata") or {}).get("locale") != "en"
        ),
    )
    check(
        raw,
        dt,
        "user_metadata.newsletter:true",
        lambda u: (u.get("user_metadata") or {}).get("newsletter") is True,
    )


def test_bare_term_and_unknown_field(raw, dt):
    check(raw, dt, "viewer@example.com", lambda u: u["email"] == "viewer@example.com")
    check(raw, dt, "ada", lambda u: "ada" in (u.get("name") or "").lower().split())
    assert search(raw, "no_such_field:x")[1] == 0


def test_escaped_special_characters_are_literal(raw, dt):
    odd = dt.create_user(email="a+b(c)@example.com", name="Star*Name: x/y", nickname="q?")
    dt.create_user(email="aXbYcZ@example.com", name="StarName x/y")
    assert search(raw, r"email:a\+b\(c\)@example.com")[0] == {odd["user_id"]}
    assert search(raw, r"name:Star\*Name\:\ x\/y")[0] == {odd["user_id"]}
    assert search(raw, r"name:star\**")[0] == {odd["user_id"]}  # escaped star literal, then a wildcard
    assert search(raw, r"nickname:q\?")[0] == {odd["user_id"]}
    assert search(raw, r'name:"Star*Name: x/y"')[0] == {odd["user_id"]}


@pytest.mark.parametrize("q", ["name:(", "AND", 'email:"unclosed', "[a TO", ")"])
def test_bad_syntax_is_400(api, raw, q):
    r = raw.get("/users", params={"q": q, "search_engine": "v3"})
    assert r.status_code == 400
    body = r.json()
    assert body["errorCode"] == "invalid_query_string"
    assert body["message"].startswith("Query validation error: 'Invalid query: ")
    with pytest.raises(ApiError) as err:
        api.users.list(q=q, search_engine="v3")
    assert err.value.status_code == 400


def test_search_with_sort_and_sdk(api, dt):
    pager = api.users.list(
        q="identities.connection:github",
        search_engine="v3",
        sort="email:1",
        per_page=100,
        include_totals=True,
    )
    emails = [u.email for u in pager.items]
    want = sorted(u["email"] for u in dt.users() if u["identities"][0]["connection"] == "github")
    assert emails == want and pager.response.total == len(want)
