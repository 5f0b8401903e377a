"""The dev tenant's user-export job: pending, processing, completed with a signed link to a gzip file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import time

import httpx
import pytest

from tests.devtenant.conftest import get_token
from tests.devtenant.test_openapi import check

FIELDS = [
    {"name": "user_id"},
    {"name": "email", "export_as": "Email"},
    {"name": "identities[0].connection", "export_as": "connection"},
    {"name": "blocked"},
]


def finished(raw: httpx.Client, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = raw.get(f"/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def download(location: str) -> httpx.Response:
    return httpx.get(location, timeout=10, trust_env=False)


def test_a_csv_export_holds_every_user_with_the_fields_asked(dt, raw):
    created = raw.post("/jobs/users-exports", json={"format": "csv", "fields": FIELDS})
    check(created, "POST", "/jobs/users-exports")
    assert created.json()["status"] == "pending" and created.json()["type"] == "users_export"
    job = finished(raw, created.json()["id"])
    assert job["status"] == "completed", job
    response = raw.get(f"/jobs/{job['id']}")
    check(response, "GET", "/jobs/{id}")
    file = download(job["location"])
    assert file.status_code == 200
    assert file.content[:2] == b"\x1f\x8b"  # gzip, as Auth0's users.csv.gz
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(file.content).decode())))
    users = {u["user_id"]: u for u in dt.users()}
    assert {r["user_id"] for r in rows} == set(users)
    assert list(rows[0]) == ["user_id", "Email", "connection", "blocked"]
    for row in rows:
        user = users[row["user_id"]]
        assert row["Email"] == (user.get("email") or "")
        assert row["connection"] == user["identities"][0]["connection"]
        assert row["blocked"] == {True: "true", False: "false", None: ""}[user.get("blocked")]


def test_a_json_export_of_one_connection_is_json_lines_of_its_users(dt, raw):
    connections = raw.get("/connections", params={"name": "github"}).json()
    github = connections[0]["id"]
    created = raw.post(
        "/jobs/users-exports", json={"format": "json", "connection_id": github, "fields": FIELDS}
    )
    assert created.status_code == 200 and created.json()["connection"] == "github"
    job = finished(raw, created.json()["id"])
    lines = gzip.decompress(download(job["location"]).content).decode().splitlines()
    exported = [json.loads(line) for line in lines]
    expected = {
        u["user_id"] for u in dt.users() if any(i["connection"] == "github" for i in u.get("identities", []))
    }
    assert expected and {e["user_id"] for e in exported} == expected
    assert all(e["connection"] == "github" for e in exported)


def test_progress_is_reported_while_processing(dt, raw):
    dt.set_exports(users_per_second=100)  # 150 users: 1.5 s
    job_id = raw.post("/jobs/users-exports", json={"format": "csv", "fields": FIELDS}).json()["id"]
    seen = []
    while (job := raw.get(f"/jobs/{job_id}").json())["status"] != "completed":
        seen.append(job)
        time.sleep(0.1)
    processing = [j for j in seen if j["status"] == "processing"]
    assert processing, seen
    assert all(0 <= j["percentage_done"] < 100 and j["time_left_seconds"] >= 0 for j in processing)
    assert processing[-1]["percentage_done"] > processing[0]["percentage_done"]


def test_the_link_expires_and_a_fresh_look_at_the_job_signs_a_new_one(dt, raw):
    dt.set_exports(link_ttl_seconds=1)
    job = finished(raw, raw.post("/jobs/users-exports", json={"format": "csv"}).json()["id"])
    time.sleep(1.1)
    expired = download(job["location"])
    assert expired.status_code == 403 and b"AccessDenied" in expired.content
    again = raw.get(f"/jobs/{job['id']}").json()
    assert again["location"] != job["location"]
    assert download(again["location"]).status_code == 200
    tampered = again["location"].replace("Signature=", "Signature=0")
    assert download(tampered).status_code == 403


def test_a_failed_job_says_so(dt, raw):
    dt.set_exports(fail_next="disk full")
    job = finished(raw, raw.post("/jobs/users-exports", json={"format": "csv"}).json()["id"])
    assert job["status"] == "failed" and "location" not in job
    check(raw.get(f"/jobs/{job['id']}"), "GET", "/jobs/{id}")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"format": "xml"}, "No enum match for: xml"),
        ({"connection_id": "con_x"}, "does not match pattern"),
        ({"connection_id": "con_AAAAAAAAAAAAAAAA"}, "The connection does not exist."),
        ({"fields": [{"name": "email", "as": "x"}]}, "Additional properties not allowed: as"),
        ({"fields": [{"export_as": "x"}]}, "Missing required property: name"),
        ({"fields": [{"name": f"f{i}"} for i in range(31)]}, "maximum 30"),
        ({"limit": 0}, "less than minimum 1"),
        ({"nope": 1}, "Additional properties not allowed: nope"),
    ],
)
def test_bad_requests_are_refused_in_auth0s_words(dt, raw, body, words):
    response = raw.post("/jobs/users-exports", json=body)
    assert response.status_code == 400 and words in response.json()["message"], response.json()
    check(response, "POST", "/jobs/users-exports")


def test_without_read_users_the_export_is_refused(dt, raw):
    token = get_token(dt, "logs-only-m2m", "logs-only-secret")["access_token"]
    response = raw.post("/jobs/users-exports", json={}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient scope, expected any of: read:users"
    check(response, "POST", "/jobs/users-exports")


def test_a_reset_puts_the_export_settings_back(dt):
    dt.set_exports(users_per_second=1)
    dt.reset()
    assert dt.exports()["settings"]["users_per_second"] == 5000
