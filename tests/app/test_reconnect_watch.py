"""Every signed-in page holds the reconnect watch (admin_core/ui/handover.py): a fragment with `run_every`,
which is what makes Streamlit's browser code rerun the script when its websocket reconnects (so a session
whose instance was killed is told at once, tests/cluster/test_failover.py). It must cost nothing: it draws
nothing, and its own rerun runs neither the page nor the gate (no activity for SESSION_IDLE_MINUTES).

AppTest against the dev tenant over real HTTP; the messages a run sends are read from AppTest's own script
runner (the `auto_rerun` message is what the browser's timer, and its reconnect rule, are made of).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from admin_core.auth import IDENTITY_KEY, LAST_SEEN_KEY
from admin_core.ui.handover import SIGN_IN_WATCH_KEY, WATCH_EVERY, WATCH_KEY
from tests.support.fragments import fragment_ids, rerun_fragment

ROOT = Path(__file__).resolve().parents[2]
RUNS = "users.runs"  # pages/users.py counts its own runs


@pytest.fixture
def sent(monkeypatch) -> list[list[ForwardMsg]]:
    """The forward messages of each AppTest script run, in order."""
    runs: list[list[ForwardMsg]] = []
    base = app_test_module.LocalScriptRunner

    class Recording(base):  # type: ignore[misc, valid-type]
        def run(self, *args, **kwargs):
            try:
                return super().run(*args, **kwargs)
            finally:
                runs.append(list(self.forward_msgs()))

    monkeypatch.setattr(app_test_module, "LocalScriptRunner", Recording)
    assert issubclass(Recording, LocalScriptRunner)
    return runs


def auto_reruns(messages: list[ForwardMsg]) -> list[tuple[str, float]]:
    return [
        (m.auto_rerun.fragment_id, m.auto_rerun.interval)
        for m in messages
        if m.WhichOneof("type") == "auto_rerun"
    ]


@pytest.mark.parametrize("page", [None, "pages/overview.py", "pages/audit.py", "pages/account.py"])
def test_every_signed_in_page_holds_the_watch(sign_in, sent, page):
    at = sign_in("admin", page=page)
    assert not at.exception, [e.value for e in at.exception]
    (watch,) = fragment_ids(at, WATCH_KEY)
    assert (watch, WATCH_EVERY.total_seconds()) in auto_reruns(sent[-1])


def test_the_watch_draws_nothing_and_its_rerun_is_not_a_page_run_nor_activity(sign_in):
    at = sign_in("admin")
    identity = at.session_state[IDENTITY_KEY]
    runs_before = dict(at.session_state[RUNS])
    seen_before = at.session_state[LAST_SEEN_KEY]

    at = rerun_fragment(at, WATCH_KEY)  # what the browser's timer sends, at most once per WATCH_EVERY

    assert not at.exception, [e.value for e in at.exception]
    assert dict(at.session_state[RUNS]) == runs_before, "the page ran"
    assert at.session_state[LAST_SEEN_KEY] == seen_before, "the watch's rerun counted as activity"
    assert at.session_state[IDENTITY_KEY] == identity
    # The tree of a fragment's rerun holds what it drew: nothing (its empty container is not shown).
    (block,) = at.main.children.values()
    assert block.type == "flex_container" and not block.children
    assert not at.sidebar.children


def test_the_sign_in_screen_has_its_own_watch_and_the_signed_in_page_not_twice(app_env, sent):
    """Left on the sign-in screen of an instance that was killed, a browser must rerun at once when it
    reconnects, so that its sign-in button comes from the live instance (module doc of handover)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert IDENTITY_KEY not in at.session_state
    assert len(fragment_ids(at, SIGN_IN_WATCH_KEY)) == 1
    assert fragment_ids(at, WATCH_KEY) == []
    assert len(auto_reruns(sent[-1])) == 1
