"""Filtering, paging and CSV export of the audit log, on every backend."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta, timezone

import pytest

from admin_core.audit import CSV_COLUMNS, Actor, AuditEvent, AuditStore, Target
from tests.audit.helpers import ALICE, BOB, CAROL

PERCENT = Target(user_id="auth0|pct", email="pct@example.com", name="100% Real")
HUNDRED = Target(user_id="auth0|hundred", email="hundred@example.com", name="100 Real Estate")
UNDERSCORE = Target(user_id="auth0|snake", email="a_b@example.com", name="Snake")
LOOKALIKE = Target(user_id="auth0|axb", email="axb@example.com", name="Lookalike")
NO_EMAIL = Actor(sub="samlp|okta|dave", email=None)


def seed(store: AuditStore) -> list[AuditEvent]:
    """Write a varied log, oldest first, with strictly increasing timestamps; return it newest first."""
    plan = [
        (ALICE, "sign_in", None),
        (ALICE, "delete", CAROL),
        (BOB, "block", PERCENT),
        (BOB, "unblock", HUNDRED),
        (ALICE, "bulk_delete", UNDERSCORE),
        (NO_EMAIL, "delete", LOOKALIKE),
        (BOB, "logout", None),
    ]
    written = set()
    for actor, action, target in plan:
        written.add(store.record(actor=actor, action=action, target=target))
        time.sleep(0.002)  # distinct occurred_at values even on coarse clocks
    events = [e for e in store.query(per_page=100).events if e.request_id in written]
    assert len(events) == len(plan)
    return events


def ids(events: list[AuditEvent]) -> list[str]:
    return [e.request_id for e in events]


def test_query_returns_newest_first_with_the_total(store: AuditStore) -> None:
    events = seed(store)
    assert [e.action for e in events] == [
        "logout", "delete", "bulk_delete", "unblock", "block", "delete", "sign_in",
    ]  # fmt: skip
    stamps = [e.occurred_at for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert store.query().total == 7


def test_query_filters_by_actor_email_or_sub_case_insensitively(store: AuditStore) -> None:
    events = seed(store)
    alice = store.query(actor="ALICE@EXAMPLE")
    assert alice.total == 3
    assert all(e.actor_email == ALICE.email for e in alice.events)
    by_sub = store.query(actor="GitHub|42")
    assert {e.actor_email for e in by_sub.events} == {BOB.email}
    assert by_sub.total == 3
    no_email = store.query(actor="okta|dave")
    assert ids(no_email.events) == [e.request_id for e in events if e.actor_sub == NO_EMAIL.sub]
    assert store.query(actor="nobody").total == 0


def test_an_exact_actor_matches_that_person_only(store: AuditStore) -> None:
    store.record(actor=Actor(sub="auth0|1", email="a@x.com"), action="logout")
    store.record(actor=Actor(sub="auth0|2", email="ba@x.com"), action="logout")
    store.record(actor=Actor(sub="auth0|3", email=None), action="logout")
    assert [e.actor_sub for e in store.query(actor="a@x.com", exact_actor=True).events] == ["auth0|1"]
    assert store.query(actor="a@x.com").total == 2  # the free-text filter still matches parts
    assert [e.actor_sub for e in store.query(actor="auth0|3", exact_actor=True).events] == ["auth0|3"]
    assert "ba@x.com" not in store.export_csv(actor="a@x.com", exact_actor=True)


def test_query_filters_by_action(store: AuditStore) -> None:
    seed(store)
    deletes = store.query(action="delete")
    assert deletes.total == 2
    assert {e.action for e in deletes.events} == {"delete"}
    assert store.query(action="sign_in_refused").total == 0
    with pytest.raises(ValueError, match="Unknown audit action"):
        store.query(action="nuke")


def test_query_matches_target_email_name_or_user_id_case_insensitively(store: AuditStore) -> None:
    seed(store)
    assert [e.target for e in store.query(target_text="CAROL@").events] == [CAROL]
    assert [e.target for e in store.query(target_text="carol jones").events] == [CAROL]
    assert [e.target for e in store.query(target_text="auth0|snake").events] == [UNDERSCORE]
    assert store.query(target_text="auth0|").total == 5


def test_percent_and_underscore_in_target_text_match_literally(store: AuditStore) -> None:
    seed(store)
    # Unescaped, "100%" would also match "100 Real Estate" and "a_b" would match "axb".
    assert [e.target for e in store.query(target_text="100%").events] == [PERCENT]
    assert [e.target for e in store.query(target_text="a_b@").events] == [UNDERSCORE]
    assert store.query(target_text="%").total == 1
    assert store.query(target_text="_").total == 1
    assert store.query(actor="%").total == 0
    assert store.query(target_text="/").total == 0  # the escape character itself is literal too


def test_query_filters_by_an_inclusive_date_range(store: AuditStore) -> None:
    events = seed(store)
    newest_first = [e.occurred_at for e in events]
    since, until = newest_first[4], newest_first[2]  # the 3rd..5th oldest events
    window = store.query(since=since, until=until)
    assert ids(window.events) == ids(events[2:5])
    assert window.total == 3
    assert ids(store.query(since=newest_first[0]).events) == ids(events[:1])
    assert ids(store.query(until=newest_first[-1]).events) == ids(events[-1:])
    assert store.query(since=newest_first[0] + timedelta(seconds=1)).total == 0


def test_the_date_range_compares_instants_whatever_the_timezone(store: AuditStore) -> None:
    events = seed(store)
    plus_two = timezone(timedelta(hours=2))
    since = events[2].occurred_at.astimezone(plus_two)
    assert ids(store.query(since=since).events) == ids(events[:3])
    naive_utc = events[2].occurred_at.replace(tzinfo=None)  # naive datetimes are taken as UTC
    assert ids(store.query(since=naive_utc).events) == ids(events[:3])


def test_filters_combine(store: AuditStore) -> None:
    events = seed(store)
    both = store.query(actor="alice", action="delete", target_text="carol", since=events[-1].occurred_at)
    assert [e.target for e in both.events] == [CAROL]
    assert store.query(actor="bob", action="delete").total == 0


def test_paging_splits_the_newest_first_list_without_gaps_or_repeats(store: AuditStore) -> None:
    events = seed(store)
    pages = [store.query(page=n, per_page=3) for n in range(4)]
    assert [len(p.events) for p in pages] == [3, 3, 1, 0]
    assert all(p.total == 7 and p.per_page == 3 for p in pages)
    assert [p.page for p in pages] == [0, 1, 2, 3]
    assert pages[0].pages == 3
    assert [i for p in pages for i in ids(p.events)] == ids(events)
    filtered = store.query(actor="bob", page=1, per_page=2)
    assert filtered.total == 3
    assert ids(filtered.events) == [e.request_id for e in events if e.actor_email == BOB.email][2:]


def test_bad_paging_arguments_are_rejected(store: AuditStore) -> None:
    with pytest.raises(ValueError):
        store.query(page=-1)
    with pytest.raises(ValueError):
        store.query(per_page=0)
    with pytest.raises(ValueError):
        store.query(per_page=10_000)


def test_distinct_actors_lists_each_actor_once(store: AuditStore) -> None:
    assert store.distinct_actors() == []
    seed(store)
    assert store.distinct_actors() == ["alice@example.com", "bob@example.org", "samlp|okta|dave"]


def test_csv_export_round_trips_commas_quotes_and_newlines(store: AuditStore) -> None:
    awkward = Target(user_id="auth0|odd", email="odd@example.com", name='Smith, "Jr."\nline two')
    request_id = store.begin(actor=ALICE, action="delete", target=awkward)
    store.complete(request_id, ok=False, message='Auth0: "rate limited", retry later\r\nsecond line; 3,4')
    seed(store)

    text = store.export_csv()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    events = store.query(per_page=100).events
    assert len(rows) == 1 + len(events) == 9
    assert [row[1] for row in rows[1:]] == ids(events)  # newest first, like the page
    odd = next(row for row in rows[1:] if row[1] == request_id)
    record = dict(zip(CSV_COLUMNS, odd, strict=True))
    assert record["target_name"] == 'Smith, "Jr."\nline two'
    assert record["message"] == 'Auth0: "rate limited", retry later\r\nsecond line; 3,4'
    assert record["state"] == "error"
    assert record["actor_email"] == ALICE.email
    event = store.get(request_id)
    assert event is not None
    assert record["occurred_at"] == event.occurred_at.isoformat()
    assert record["id"] == str(event.id)
    sign_in = next(row for row in rows[1:] if row[6] == "sign_in")
    assert sign_in[CSV_COLUMNS.index("target_user_id")] == ""


def test_csv_export_applies_the_same_filters(store: AuditStore) -> None:
    events = seed(store)
    rows = list(csv.reader(io.StringIO(store.export_csv(actor="bob", since=events[-1].occurred_at))))
    assert [row[1] for row in rows[1:]] == [e.request_id for e in events if e.actor_email == BOB.email]
    assert list(csv.reader(io.StringIO(store.export_csv(action="sign_in_refused")))) == [list(CSV_COLUMNS)]


def test_csv_export_defuses_spreadsheet_formulas_unless_asked_not_to(store: AuditStore) -> None:
    formula = '=HYPERLINK("http://evil.example","click")'
    store.record(actor=ALICE, action="delete", target=Target(user_id="auth0|f", email=None, name=formula))
    name_column = CSV_COLUMNS.index("target_name")
    guarded = list(csv.reader(io.StringIO(store.export_csv())))
    assert guarded[1][name_column] == "'" + formula
    raw = list(csv.reader(io.StringIO(store.export_csv(formula_guard=False))))
    assert raw[1][name_column] == formula
