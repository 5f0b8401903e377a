"""What a person reads when their instance shuts down: the draining instance ends the sign-in with
RESTARTING and puts `?restarted=1` in the address, and the instance the browser reconnects to (a new
session, same address) says it too (AppTest against the dev tenant; SQLite: one process)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY, RESTARTED_PARAM
from admin_core.shutdown import DRAIN, RESTARTING
from tests.support.app_env import ROOT
from tests.support.markdown import visible


def notices(at: AppTest) -> list[str]:
    return [visible(i.value) for i in at.info if not i.value.startswith("Local dev tenant at ")]


def test_a_signed_in_session_on_a_draining_instance_is_told_to_sign_in_again(sign_in, monkeypatch):
    at = sign_in("admin")
    assert IDENTITY_KEY in at.session_state
    monkeypatch.setattr(DRAIN, "_draining", True)  # what SIGTERM does first (admin_core.shutdown)
    at.run()
    assert IDENTITY_KEY not in at.session_state
    assert notices(at) == [RESTARTING]
    assert at.query_params.get(RESTARTED_PARAM) == "1"  # carried by the browser to the next instance


def test_the_instance_a_session_reconnects_to_says_why_it_must_sign_in_again(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params[RESTARTED_PARAM] = "1"  # the address the browser kept from the instance that stopped
    at.run()
    assert notices(at) == [RESTARTING]
    assert RESTARTED_PARAM not in at.query_params  # said once: a reload does not repeat it
    at.run()
    assert notices(at) == []
