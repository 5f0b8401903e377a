"""Claim rows (admin_core.claims) on SQLite and PostgreSQL: one holder per person across engines, released
on the outcome, a finished delete remembered, and a dead instance's claim taken over after its expiry."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_core import claims
from admin_core.audit import AuditStore

PERSON = "auth0|carol"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    return request.getfixturevalue("audit_url")


@pytest.fixture
def stores(url: str):
    """Two stores on one database: two engines, as two app instances have."""
    made = [AuditStore(url), AuditStore(url)]
    yield made
    for store in made:
        store.close()


def take(store: AuditStore, actor: str, *, seconds: float = 60, request_id: str | None = None) -> str:
    request_id = request_id or uuid.uuid4().hex
    claims.take(
        store,
        subject=PERSON,
        request_id=request_id,
        action="delete",
        actor=actor,
        seconds=seconds,
        who="Carol",
    )
    return request_id


def test_of_many_admins_pressing_at_once_on_two_instances_one_holds_the_claim(stores):
    barrier = threading.Barrier(8)
    won: list[str] = []
    told: list[str] = []

    def press(n: int) -> None:
        barrier.wait()
        try:
            take(stores[n % 2], f"admin{n}@example.com")
            won.append(f"admin{n}@example.com")
        except claims.Claimed as exc:
            told.append(exc.message)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1, (won, told)
    assert told == [f"Not done: Carol is already being deleted by {won[0]}. Try again in a moment."] * 7


def test_a_released_claim_lets_the_next_change_through(stores):
    first = take(stores[0], "ada@example.com")
    claims.release(stores[0], subject=PERSON, request_id=first)
    take(stores[1], "bob@example.com")
    assert claims.holder(stores[0], PERSON).actor == "bob@example.com"


def test_a_finished_delete_tells_the_next_admin_who_deleted_the_person(stores):
    first = take(stores[0], "ada@example.com")
    claims.release(stores[0], subject=PERSON, request_id=first, deleted=True)
    with pytest.raises(claims.Claimed) as told:
        take(stores[1], "bob@example.com")
    assert told.value.message == "Not done: Carol was just deleted by ada@example.com."


def test_only_the_claims_own_request_releases_it(stores):
    take(stores[0], "ada@example.com")
    claims.release(stores[1], subject=PERSON, request_id="someone-else")
    assert claims.holder(stores[1], PERSON).actor == "ada@example.com"


def test_the_claim_of_an_instance_that_died_mid_change_ends_at_its_expiry(stores):
    take(stores[0], "ada@example.com", seconds=1.5)  # never released: the instance was killed
    with pytest.raises(claims.Claimed):
        take(stores[1], "bob@example.com")
    time.sleep(1.6)
    take(stores[1], "bob@example.com")
    assert claims.holder(stores[0], PERSON).actor == "bob@example.com"


@pytest.mark.postgres
def test_an_instance_whose_clock_is_ahead_does_not_take_over_a_live_claim(audit_url, monkeypatch):
    ahead = [AuditStore(audit_url), AuditStore(audit_url)]
    try:
        take(ahead[0], "ada@example.com", seconds=60)
        # The second instance's host clock runs ten minutes ahead: by its own clock Ada's claim has expired.
        skewed = datetime.now(UTC) + timedelta(minutes=10)
        monkeypatch.setattr(claims, "_wall_clock", lambda: skewed)
        with pytest.raises(claims.Claimed):
            take(ahead[1], "bob@example.com")
        assert claims.holder(ahead[1], PERSON).actor == "ada@example.com"
    finally:
        for store in ahead:
            store.close()


def test_the_same_change_asked_again_takes_its_own_claim_over(stores):
    """A bulk job's person keeps one request id however many runs try them: a run that died after the
    claim and before the audit row leaves a claim the next run (on another instance) may take over."""
    take(stores[0], "ada@example.com", request_id="job-1:7")  # never released: the instance was killed
    take(stores[1], "bob@example.com", request_id="job-1:7")
    assert claims.holder(stores[0], PERSON).actor == "bob@example.com"
    with pytest.raises(claims.Claimed):  # any other change is still refused
        take(stores[0], "cy@example.com")
