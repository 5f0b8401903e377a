"""Change announcements (admin_core.signals) without a database: what a payload means, and SQLite's no-op."""

from __future__ import annotations

import json

from admin_core.audit import AuditStore
from admin_core.signals import EVERYTHING, Change, Signals


def signals() -> Signals:
    return Signals(AuditStore("sqlite:///:memory:"))


def test_with_sqlite_there_is_one_process_so_nothing_is_sent_or_listened_to():
    one = signals()
    assert not one.enabled
    one.publish(Change(user_id="auth0|1"))  # no database work, no error
    one.subscribe(lambda change: None)
    assert one._thread is None


def test_another_instances_announcement_is_read_and_its_own_is_ignored():
    one = signals()
    theirs = json.dumps({"o": "elsewhere", "u": "auth0|1", "d": True, "e": False})
    assert one._parse(theirs) == Change(user_id="auth0|1", deleted=True)
    assert one._parse(json.dumps({"o": one.origin, "u": "auth0|1"})) is None


def test_an_announcement_that_cannot_be_read_clears_everything():
    one = signals()
    assert one._parse("not json") == EVERYTHING
    assert one._parse("[1]") == EVERYTHING
    assert one._parse(json.dumps({"o": "x", "u": 5})) == Change()
