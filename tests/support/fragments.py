"""Fragment reruns under AppTest, as the server runs them on a click inside a fragment.

In the browser, a widget inside an `st.fragment` (or a dialog, which is one) sends its rerun with the
fragment's id, and the server runs that fragment alone: not app.py, not the page around it. AppTest has no
such rerun of its own (every `at.run()` runs the whole app); these helpers run its script runner with the
fragment's id in the rerun request, which is what the server does with the browser's message. After such a
run AppTest's element tree holds only what that fragment drew.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

LISTING = "users.listing"  # admin_core.ui.listing.FRAGMENT, spelled out: tests name what they check
ROWS = "users.rows"  # admin_core.ui.listing.ROWS_FRAGMENT: the table and its bulk bar, inside the listing


def fragment_ids(at: AppTest, key: str | None = None) -> list[str]:
    """The ids of the fragments the last run registered: those with this `@st.fragment(key=...)`, or, with
    no key, the unnamed ones (dialogs)."""
    storage = at._fragment_storage
    if key is not None:
        return list(storage._ids_by_target_key.get(key, {}))
    return [i for i in storage._fragments if i not in storage._target_key_by_id]


@contextmanager
def fragment_runner(fragment_id: str) -> Iterator[None]:
    """While inside, AppTest runs only the fragment `fragment_id` on each run (as the server does when the
    browser reports a widget of that fragment)."""

    class FragmentRerun(LocalScriptRunner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # The base queues a full run on construction, which would absorb the fragment's rerun.
            self._requests = ScriptRequests()

        def request_rerun(self, rerun_data):
            return super().request_rerun(dataclasses.replace(rerun_data, fragment_id=fragment_id))

    saved = app_test_module.LocalScriptRunner
    app_test_module.LocalScriptRunner = FragmentRerun  # type: ignore[misc]
    try:
        yield
    finally:
        app_test_module.LocalScriptRunner = saved  # type: ignore[misc]


def rerun_fragment(at: AppTest, key: str | None = LISTING, *, timeout: float | None = None) -> AppTest:
    """Send the tree's widget states (a click or a value set on an element beforehand) as a rerun of the
    fragment `key` alone (None: the one open dialog), the way the browser does for a widget inside it."""
    ids = fragment_ids(at, key)
    if len(ids) != 1:
        raise AssertionError(f"expected one fragment {key or '(dialog)'}, found {ids}")
    with fragment_runner(ids[0]):
        return at._run(widget_state=at._tree.get_widget_states(), timeout=timeout)
