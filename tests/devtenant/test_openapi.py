"""The dev tenant's answers checked against Auth0's OpenAPI document: status codes, bodies, scopes."""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from devtenant.scopes import SCOPES
from tests.devtenant.conftest import get_token
from tests.devtenant.oas_subset import FULL, OPERATIONS, SUBSET, extract

OAS_URI = "urn:auth0:management-api-oas"


@cache
def oas() -> dict:
    return json.loads(SUBSET.read_text())


@cache
def registry() -> Registry:
    resource = Resource.from_contents(oas(), default_specification=DRAFT202012)
    return Registry().with_resource(OAS_URI, resource)


def operation(method: str, path: str) -> dict:
    return oas()["paths"][path][method.lower()]


def check(response, method: str, path: str) -> None:
    """The status is one the OAS lists for the operation; the body fits its schema (errors: Auth0's shape)."""
    responses = operation(method, path)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path}: {status} not in {sorted(responses)}"
    if response.status_code >= 400:
        body = response.json()
        assert (
            {"statusCode", "error", "message"}
            <= set(body)
            <= {
                "statusCode",
                "error",
                "message",
                "errorCode",
                "attributes",
            }
        )
        assert body["statusCode"] == response.status_code
        return
    schema = ((responses[status].get("content") or {}).get("application/json") or {}).get("schema")
    if schema is None:
        assert response.content == b"", f"{method} {path}: a {status} without a schema has no body"
        return
    wrapped = {"$ref": OAS_URI + schema["$ref"]} if "$ref" in schema else {**schema}
    if "$ref" not in schema:  # an inline array of refs
        wrapped = json.loads(json.dumps(schema).replace('"#/components', f'"{OAS_URI}#/components'))
    validator = Draft202012Validator(wrapped, registry=registry())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method} {path}: " + "; ".join(
        f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]
    )


def oas_scopes(method: str, path: str) -> set[str]:
    found: set[str] = set()
    for requirement in operation(method, path).get("security", []):
        found |= set(requirement.get("oAuth2ClientCredentials") or [])
    return found


def test_subset_is_the_extract_of_the_full_document():
    if not FULL.exists():
        pytest.skip(f"the full OpenAPI document is not at {FULL}")
    assert extract(json.loads(FULL.read_text())) == oas()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_scopes_enforced_equal_the_oas(method, path):
    assert set(SCOPES[f"{method.upper()} {path}"]) == oas_scopes(method, path)


def test_every_route_of_the_scope_table_is_checked():
    assert set(SCOPES) == {f"{m.upper()} {p}" for m, p in OPERATIONS}


@pytest.fixture
def people(dt) -> dict:
    """Users to ask about: staff, and generated ones with locks, MFA and sessions."""
    examples = dt.support_examples(n=1)
    users = dt.users()
    return {
        "admin": users[0]["user_id"],
        "staff": users[2]["user_id"],
        "locked": examples["locked"][0],
        "mfa": examples["mfa"][0],
        "sessions": examples["sessions"][0],
        "role": None,
    }


def q(uid: str) -> str:
    return quote(uid, safe="")


NEW_USER = {
    "connection": "Username-Password-Authentication",
    "email": "oas@example.org",
    "password": "Oas-check-1",
}


def cases(people: dict, raw) -> list[tuple[str, str, str, dict]]:
    role_id = raw.get("/roles").json()[0]["id"]
    admin, staff, locked, mfa, sess = (people[k] for k in ("admin", "staff", "locked", "mfa", "sessions"))
    nobody = q("auth0|nobody")
    return [
        ("GET", "/users", "/users", {"params": {"per_page": 5}}),
        ("GET", "/users", "/users", {"params": {"per_page": 5, "include_totals": "true"}}),
        ("GET", "/users", "/users", {"params": {"q": 'email:"admin@example.com"', "search_engine": "v3"}}),
        ("GET", "/users", "/users", {"params": {"per_page": 101}}),
        ("GET", "/users", "/users", {"params": {"page": 20, "per_page": 50}}),
        ("GET", "/users-by-email", "/users-by-email", {"params": {"email": "admin@example.com"}}),
        ("GET", "/users/{id}", f"/users/{q(admin)}", {}),
        ("GET", "/users/{id}", f"/users/{nobody}", {}),
        ("PATCH", "/users/{id}", f"/users/{q(staff)}", {"json": {"email_verified": True}}),
        ("PATCH", "/users/{id}", f"/users/{q(staff)}", {"json": {"nope": 1}}),
        # issue 16, metadata and profile: a merge with a null, then Auth0's refusals (key name, length)
        (
            "PATCH",
            "/users/{id}",
            f"/users/{q(staff)}",
            {"json": {"user_metadata": {"a": {"b": 1}, "c": None}}},
        ),
        ("PATCH", "/users/{id}", f"/users/{q(staff)}", {"json": {"user_metadata": {"a.b": 1}}}),
        ("PATCH", "/users/{id}", f"/users/{q(staff)}", {"json": {"name": "n" * 301}}),
        ("GET", "/users/{id}/roles", f"/users/{q(admin)}/roles", {}),
        ("GET", "/users/{id}/roles", f"/users/{q(admin)}/roles", {"params": {"include_totals": "true"}}),
        ("GET", "/roles", "/roles", {}),
        ("GET", "/roles", "/roles", {"params": {"include_totals": "true"}}),
        ("GET", "/roles/{id}", f"/roles/{role_id}", {}),
        ("GET", "/roles/{id}", "/roles/rol_nope", {}),
        ("GET", "/roles/{id}/users", f"/roles/{role_id}/users", {}),
        ("GET", "/roles/{id}/users", f"/roles/{role_id}/users", {"params": {"include_totals": "true"}}),
        ("GET", "/users/{id}/logs", f"/users/{q(locked)}/logs", {}),
        ("GET", "/users/{id}/logs", f"/users/{q(admin)}/logs", {"params": {"include_totals": "true"}}),
        ("GET", "/users/{id}/logs", f"/users/{q(admin)}/logs", {"params": {"per_page": 500}}),
        ("GET", "/user-blocks/{id}", f"/user-blocks/{q(locked)}", {}),
        ("GET", "/user-blocks/{id}", f"/user-blocks/{nobody}", {}),
        ("DELETE", "/user-blocks/{id}", f"/user-blocks/{q(locked)}", {}),
        ("DELETE", "/user-blocks/{id}", f"/user-blocks/{nobody}", {}),
        ("POST", "/tickets/password-change", "/tickets/password-change", {"json": {"user_id": staff}}),
        ("POST", "/tickets/password-change", "/tickets/password-change", {"json": {"user_id": "auth0|x"}}),
        ("POST", "/tickets/password-change", "/tickets/password-change", {"json": {"bad": True}}),
        ("POST", "/jobs/verification-email", "/jobs/verification-email", {"json": {"user_id": staff}}),
        ("POST", "/jobs/verification-email", "/jobs/verification-email", {"json": {}}),
        ("GET", "/users/{id}/authentication-methods", f"/users/{q(mfa)}/authentication-methods", {}),
        (
            "GET",
            "/users/{id}/authentication-methods",
            f"/users/{q(mfa)}/authentication-methods",
            {"params": {"include_totals": "true"}},
        ),
        ("GET", "/users/{id}/authentication-methods", f"/users/{nobody}/authentication-methods", {}),
        ("GET", "/users/{id}/enrollments", f"/users/{q(mfa)}/enrollments", {}),
        ("GET", "/users/{id}/enrollments", f"/users/{nobody}/enrollments", {}),
        (
            "POST",
            "/users/{id}/multifactor/actions/invalidate-remember-browser",
            f"/users/{q(mfa)}/multifactor/actions/invalidate-remember-browser",
            {},
        ),
        ("DELETE", "/users/{id}/authenticators", f"/users/{q(mfa)}/authenticators", {}),
        ("GET", "/users/{user_id}/sessions", f"/users/{q(sess)}/sessions", {}),
        ("GET", "/users/{user_id}/sessions", f"/users/{nobody}/sessions", {}),
        ("DELETE", "/users/{user_id}/sessions", f"/users/{q(sess)}/sessions", {}),
        ("DELETE", "/users/{user_id}/refresh-tokens", f"/users/{q(sess)}/refresh-tokens", {}),
        ("DELETE", "/users/{user_id}/refresh-tokens", f"/users/{nobody}/refresh-tokens", {}),
        ("POST", "/users/{id}/roles", f"/users/{q(staff)}/roles", {"json": {"roles": [role_id]}}),
        ("POST", "/users/{id}/roles", f"/users/{q(staff)}/roles", {"json": {"roles": []}}),
        ("POST", "/users/{id}/roles", f"/users/{q(staff)}/roles", {"json": {"roles": ["rol_nope"]}}),
        ("POST", "/users/{id}/roles", f"/users/{nobody}/roles", {"json": {"roles": [role_id]}}),
        ("DELETE", "/users/{id}/roles", f"/users/{q(staff)}/roles", {"json": {"roles": [role_id]}}),
        ("DELETE", "/users/{id}/roles", f"/users/{nobody}/roles", {"json": {"roles": [role_id]}}),
        # a checkpoint page with `next` (the last page, without it, fits both of the OAS's oneOf objects)
        ("GET", "/connections", "/connections", {"params": {"strategy": "auth0", "take": 1}}),
        ("GET", "/connections", "/connections", {"params": {"per_page": 2, "include_totals": "true"}}),
        ("GET", "/connections", "/connections", {}),
        ("GET", "/connections", "/connections", {"params": {"take": 500}}),
        ("POST", "/users", "/users", {"json": NEW_USER}),
        ("POST", "/users", "/users", {"json": {**NEW_USER, "password": "weak"}}),
        ("POST", "/users", "/users", {"json": {**NEW_USER, "email": "admin@example.com"}}),
        ("DELETE", "/users/{id}", f"/users/{q(staff)}", {}),
        # issue 19: the export job (its completed answer and the file: tests/devtenant/test_jobs_api.py)
        ("POST", "/jobs/users-exports", "/jobs/users-exports", {"json": EXPORT}),
        ("POST", "/jobs/users-exports", "/jobs/users-exports", {"json": {**EXPORT, "format": "xml"}}),
        (
            "POST",
            "/jobs/users-exports",
            "/jobs/users-exports",
            {"json": {"connection_id": "con_0000000000000009"}},
        ),
        ("POST", "/jobs/users-exports", "/jobs/users-exports", {"json": {"fields": [{"nom": "email"}]}}),
        ("GET", "/jobs/{id}", f"/jobs/{export_job(raw)}", {}),
        ("GET", "/jobs/{id}", "/jobs/job_nope", {}),
    ]


EXPORT = {"format": "csv", "fields": [{"name": "user_id"}, {"name": "email", "export_as": "Email"}]}


def export_job(raw) -> str:
    """A fresh export job's id (pending or processing when asked)."""
    return raw.post("/jobs/users-exports", json=EXPORT).json()["id"]


def test_answers_fit_the_oas(dt, raw, people):
    seen = set()
    for method, path, url, kw in cases(people, raw):
        response = raw.request(method, url, **kw)
        check(response, method, path)
        seen.add((method.lower(), path))
    assert seen == set(OPERATIONS)


def test_unauthenticated_and_missing_scope_answers_fit_the_oas(dt, raw, people):
    narrow = get_token(dt, "narrow-m2m", "narrow-secret")["access_token"]
    for method, path, url, kw in cases(people, raw):
        anonymous = raw.request(method, url, headers={"authorization": ""}, **kw)
        assert anonymous.status_code == 401
        check(anonymous, method, path)
        limited = raw.request(method, url, headers={"authorization": f"Bearer {narrow}"}, **kw)
        if not oas_scopes(method, path) & {"read:users", "update:users", "delete:users", "read:roles"}:
            assert limited.status_code == 403 and limited.json()["errorCode"] == "insufficient_scope"
            check(limited, method, path)


def test_plan_refusal_fits_the_oas(dt, raw, people):
    dt.set_plan("professional")
    for method, path in (("GET", "/users/{user_id}/sessions"), ("DELETE", "/users/{user_id}/sessions")):
        response = raw.request(method, f"/users/{q(people['sessions'])}/sessions")
        assert response.status_code == 403
        check(response, method, path)
