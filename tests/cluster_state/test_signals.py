"""LISTEN/NOTIFY between two instances' audit engines (admin_core.signals) on a real PostgreSQL: delivery,
no echo to the sender, and a listener that loses its connection reconnects and reports "everything"."""

from __future__ import annotations

import queue

import pytest
import sqlalchemy as sa

from admin_core.audit import AuditStore
from admin_core.signals import EVERYTHING, Change, Signals, wait_connected

pytestmark = pytest.mark.postgres


@pytest.fixture
def pair(audit_url: str):
    """Instance A (listening, its changes in a queue) and instance B (publishing), on one database."""
    stores = [AuditStore(audit_url), AuditStore(audit_url)]
    a, b = Signals(stores[0]), Signals(stores[1])
    heard: queue.Queue[Change] = queue.Queue()
    a.subscribe(heard.put)
    assert wait_connected(a, timeout=10)
    yield a, b, heard
    a.close()
    for store in stores:
        store.close()


def test_a_change_announced_by_one_instance_reaches_the_other_but_not_itself(pair):
    a, b, heard = pair
    b.subscribe(lambda change: None)
    b.publish(Change(user_id="auth0|carol", deleted=True))
    assert heard.get(timeout=5) == Change(user_id="auth0|carol", deleted=True)
    a.publish(Change(user_id="auth0|dave"))  # A's own: not handed back to A
    b.publish(Change())
    assert heard.get(timeout=5) == Change()


def test_a_listener_cut_off_by_the_database_reconnects_and_clears_everything(pair, audit_url):
    a, b, heard = pair
    engine = sa.create_engine(audit_url)
    try:
        with engine.begin() as conn:
            cut = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            ).all()
    finally:
        engine.dispose()
    assert cut == [(True,)]
    assert heard.get(timeout=10) == EVERYTHING  # it may have missed announcements while away
    b.publish(Change(user_id="auth0|erin"))
    assert heard.get(timeout=5) == Change(user_id="auth0|erin")
