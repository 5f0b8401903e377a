"""AppTest the way `streamlit run` runs the app: app.py on every rerun, the chosen page inside it."""

from __future__ import annotations

import pytest
from streamlit.runtime.pages_manager import PagesManager


def run_app_script_every_time(monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """Make AppTest run app.py on every rerun, as a real server does.

    AppTest resets Streamlit's "this app uses a pages/ folder" flag before each run, and a project with a
    pages/ folder then runs in the old multipage mode: after the first run only the selected page file runs,
    without app.py (no gate, header or st.navigation). A real server clears that flag for good the first time
    any session calls st.navigation(), so every later rerun executes app.py and the page inside it. With
    `monkeypatch` the change is undone after the test; without, it lasts for the process (the bench).
    A page file given to AppTest.from_file still runs alone, as a fresh server serves it.
    """
    original = PagesManager.__init__
    if getattr(original, "_like_the_server", False):
        return

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._like_the_server = True  # type: ignore[attr-defined]
    if monkeypatch is None:
        PagesManager.__init__ = init  # type: ignore[method-assign]
    else:
        monkeypatch.setattr(PagesManager, "__init__", init)
