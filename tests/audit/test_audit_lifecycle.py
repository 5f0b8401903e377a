"""Begin/complete, one-shot records and the attempt() context manager, on every backend."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import UTC

import pytest

from admin_core.audit import ACTIONS, AuditError, AuditRequestError, AuditStore, Target
from tests.audit.helpers import ALICE, BOB, CAROL, subprocess_env


def test_begin_writes_an_attempted_row_before_the_action_and_complete_marks_it_ok(store: AuditStore) -> None:
    request_id = store.begin(actor=ALICE, action="delete", target=CAROL)

    pending = store.get(request_id)
    assert pending is not None
    assert pending.state == "attempted"
    assert pending.completed_at is None
    assert pending.occurred_at.tzinfo is not None
    assert pending.occurred_at.utcoffset() == UTC.utcoffset(None)
    assert (pending.actor_sub, pending.actor_email, pending.action) == (ALICE.sub, ALICE.email, "delete")
    assert pending.target == CAROL
    assert pending.actor == ALICE

    store.complete(request_id, ok=True)

    done = store.get(request_id)
    assert done is not None
    assert done.state == "ok"
    assert done.message is None
    assert done.completed_at is not None
    assert done.completed_at >= done.occurred_at
    assert store.query().total == 1


def test_complete_with_an_error_keeps_the_error_message(store: AuditStore) -> None:
    request_id = store.begin(actor=ALICE, action="block", target=CAROL)
    store.complete(request_id, ok=False, message="Auth0 said 429: Too Many Requests")

    event = store.get(request_id)
    assert event is not None
    assert event.state == "error"
    assert event.message == "Auth0 said 429: Too Many Requests"
    assert event.completed_at is not None


def test_begin_uses_the_callers_request_id_when_given(store: AuditStore) -> None:
    given = "0123456789abcdef0123456789abcdef"
    assert store.begin(actor=ALICE, action="unblock", target=CAROL, request_id=given) == given
    assert store.get(given) is not None


def test_begin_generates_distinct_uuid4_hex_request_ids(store: AuditStore) -> None:
    ids = {store.begin(actor=ALICE, action="delete", target=CAROL) for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_reusing_a_request_id_in_begin_is_refused_and_writes_nothing(store: AuditStore) -> None:
    request_id = store.begin(actor=ALICE, action="delete", target=CAROL)
    with pytest.raises(AuditRequestError, match="already in the audit log"):
        store.begin(actor=BOB, action="delete", target=CAROL, request_id=request_id)
    assert store.query().total == 1


def test_completing_an_unknown_request_id_raises_and_creates_no_row(store: AuditStore) -> None:
    with pytest.raises(AuditRequestError, match="No audit entry has request id") as raised:
        store.complete("f" * 32, ok=True)
    assert isinstance(raised.value, AuditError)
    assert "f" * 32 in raised.value.message
    assert store.query().total == 0


def test_completing_twice_raises_and_keeps_the_first_outcome(store: AuditStore) -> None:
    request_id = store.begin(actor=ALICE, action="delete", target=CAROL)
    store.complete(request_id, ok=False, message="first")
    with pytest.raises(AuditRequestError, match="already completed"):
        store.complete(request_id, ok=True, message="second")
    event = store.get(request_id)
    assert event is not None
    assert (event.state, event.message) == ("error", "first")
    assert store.query().total == 1


def test_unknown_actions_are_rejected_before_anything_is_written(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="Unknown audit action"):
        store.begin(actor=ALICE, action="drop_table", target=CAROL)
    with pytest.raises(ValueError, match="Unknown audit action"):
        store.record(actor=ALICE, action="DELETE")
    assert store.query().total == 0


def test_record_writes_one_shot_events_already_completed(store: AuditStore) -> None:
    signed_in = store.record(actor=ALICE, action="sign_in")
    refused = store.record(
        actor=BOB, action="sign_in_refused", ok=False, message="bob@example.org is not on the allow list"
    )
    logged_out = store.record(actor=ALICE, action="logout")

    events = {e.request_id: e for e in store.query().events}
    assert events[signed_in].state == "ok"
    assert events[signed_in].target is None
    assert events[signed_in].completed_at == events[signed_in].occurred_at
    assert events[refused].state == "error"
    assert events[refused].message == "bob@example.org is not on the allow list"
    assert events[logged_out].action == "logout"


def test_every_documented_action_can_be_recorded(store: AuditStore) -> None:
    for action in ACTIONS:
        store.record(actor=ALICE, action=action, target=CAROL)
    assert {e.action for e in store.query(per_page=100).events} == set(ACTIONS)


def test_attempt_completes_ok_when_the_block_finishes(store: AuditStore) -> None:
    with store.attempt(actor=ALICE, action="delete", target=CAROL) as request_id:
        assert store.get(request_id).state == "attempted"  # type: ignore[union-attr]
    event = store.get(request_id)
    assert event is not None
    assert event.state == "ok"


class FakeAuth0Error(Exception):
    """Shaped like auth0.exceptions.Auth0Error: a status code and a .message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


def test_attempt_records_the_exceptions_message_attribute_and_reraises(store: AuditStore) -> None:
    with pytest.raises(FakeAuth0Error), store.attempt(actor=ALICE, action="delete", target=CAROL) as rid:
        raise FakeAuth0Error(404, "The user does not exist.")
    event = store.get(rid)
    assert event is not None
    assert (event.state, event.message) == ("error", "The user does not exist.")


def test_attempt_records_str_of_exceptions_without_a_message_attribute(store: AuditStore) -> None:
    with pytest.raises(RuntimeError), store.attempt(actor=ALICE, action="block", target=CAROL) as rid:
        raise RuntimeError("connection reset by peer")
    event = store.get(rid)
    assert event is not None
    assert (event.state, event.message) == ("error", "connection reset by peer")


def test_attempt_records_a_sentence_when_the_exception_has_no_text(store: AuditStore, caplog) -> None:
    """Admins read the message on the Audit page: a sentence, and the class name in the server log."""
    with pytest.raises(KeyError), store.attempt(actor=ALICE, action="block", target=CAROL) as rid:
        raise KeyError
    event = store.get(rid)
    assert event is not None
    assert (event.state, event.message) == (
        "error",
        "an error without a message (the server log has the details)",
    )
    assert "KeyError" in caplog.text


def test_long_messages_are_clipped_not_rejected(store: AuditStore) -> None:
    request_id = store.begin(actor=ALICE, action="delete", target=CAROL)
    store.complete(request_id, ok=False, message="x" * 50_000)
    event = store.get(request_id)
    assert event is not None
    assert event.message is not None
    assert 100 < len(event.message) <= 4000


def test_unicode_and_missing_optional_fields_round_trip(store: AuditStore) -> None:
    target = Target(user_id="samlp|Zoë", email=None, name="Zoë 北京 O'Brien")
    request_id = store.begin(actor=type(ALICE)(sub="auth0|x", email=None), action="delete", target=target)
    event = store.get(request_id)
    assert event is not None
    assert event.target == target
    assert event.actor_email is None


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from admin_core.audit import Actor, AuditStore, Target

    store = AuditStore(sys.argv[1])
    request_id = store.begin(
        actor=Actor(sub="auth0|alice", email="alice@example.com"),
        action="delete",
        target=Target(user_id="auth0|carol", email="carol@example.com", name="Carol Jones"),
    )
    print(request_id, flush=True)
    # Die between the audit write and the Management API call: no cleanup, no atexit, no flush.
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_attempted_row_survives_a_process_killed_between_begin_and_the_call(
    store: AuditStore, audit_url: str
) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CRASH_SCRIPT, audit_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(),
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    request_id = result.stdout.strip()
    assert len(request_id) == 32, result.stderr

    event = store.get(request_id)
    assert event is not None
    assert event.state == "attempted"
    assert event.completed_at is None
    assert event.target == CAROL
    assert [e.request_id for e in store.query(action="delete").events] == [request_id]

    # Someone reconciling the log later can still close the entry.
    store.complete(request_id, ok=False, message="process died; outcome unknown")
    assert store.get(request_id).state == "error"  # type: ignore[union-attr]
