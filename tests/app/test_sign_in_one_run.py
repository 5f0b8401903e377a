"""The run that gets the popup's answer draws the signed-in page itself (issue 19), and draws it where every
later run draws it (AppTest against the dev tenant over real HTTP; only the popup is stood in for).

Drawing the page in that run was tried once and taken out (3e9a3d9): the sign-in screen, one element more
than a signed-in run draws, sat above the page, so in the next run every element of the page moved up one
place (delta path); the browser drew them anew and lost the person's first change after signing in (the
open tab, the role picked: tests/browser/test_roles_browser.py, test_metadata_browser.py). These tests fail
with that version.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from admin_core.auth import IDENTITY_KEY, NOTICE_KEY, STATE_MISMATCH
from tests.support.app_env import ROOT, STAFF
from tests.support.browserless import FakePopup, change_state
from tests.support.markdown import visible


def places(node, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], str, str]]:
    """(delta path, element type, widget id or "") of every element and block under `node`."""
    for index, child in sorted(getattr(node, "children", {}).items()):
        here = (*path, index)
        yield here, child.type, str(getattr(child, "id", "") or "")
        yield from places(child, here)


def page_places(at: AppTest) -> Iterator[tuple[tuple[int, ...], str]]:
    """Every element and block of the page, with its place; not the toast ("Signed in as ...", once), which
    Streamlit keeps in a root of its own, away from the page."""
    for path, kind, _wid in places(at._tree):
        if kind != "toast":
            yield path, kind


def widget_places(at: AppTest) -> dict[str, tuple[int, ...]]:
    return {wid: path for path, _kind, wid in places(at._tree) if wid}


class CountRuns:
    """Counts the runs of app.py's script (app.py notes its session once per run)."""

    def __init__(self, monkeypatch):
        from admin_core import runtime

        self.runs = 0
        real = runtime.note_session

        def counted() -> None:
            self.runs += 1
            real()

        monkeypatch.setattr(runtime, "note_session", counted)


def signed_out_app(monkeypatch, who: str, *, page: str | None = None, tamper=None):
    """An AppTest on the sign-in screen (run once, no click yet) and the popup that answers the next run."""
    popup = FakePopup(email=STAFF.get(who, who), clicks=0, tamper=tamper).install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert IDENTITY_KEY not in at.session_state
    return at, popup


@pytest.mark.parametrize("page", [None, "pages/overview.py"])
def test_the_page_drawn_in_the_sign_in_run_is_where_every_later_run_draws_it(app_env, monkeypatch, page):
    at, popup = signed_out_app(monkeypatch, "admin", page=page)
    runs = CountRuns(monkeypatch)
    popup.clicks = 1  # the popup answers in the next run, as the component does once the person is done
    at.run()
    assert popup.results and "code" in popup.results[0], popup.results
    assert not at.exception
    assert IDENTITY_KEY in at.session_state
    # One run from the popup's answer to the page: no second run of the whole script.
    assert runs.runs == 1
    drawn_at_sign_in = widget_places(at)
    assert any("header.logout" in wid for wid in drawn_at_sign_in)  # the signed-in page, in that run
    assert not any("auth0_login" in wid or "signin." in wid for wid in drawn_at_sign_in)

    at.run()  # the run the person's first change starts
    assert not at.exception
    assert widget_places(at) == drawn_at_sign_in


def test_every_element_keeps_its_place_after_the_sign_in_run(app_env, monkeypatch):
    at, popup = signed_out_app(monkeypatch, "admin")
    popup.clicks = 1
    at.run()
    first = list(page_places(at))
    assert len(first) > 50  # the Users page: header, search row, listing, 24 cards
    at.run()
    assert list(page_places(at)) == first


def test_a_deep_link_lands_on_its_page_in_the_sign_in_run(app_env, monkeypatch):
    at, popup = signed_out_app(monkeypatch, "admin", page="pages/overview.py")
    popup.clicks = 1
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]


def test_a_refused_sign_in_still_shows_its_reason(app_env, monkeypatch):
    at, popup = signed_out_app(monkeypatch, "admin", tamper=change_state)
    popup.clicks = 1
    at.run()
    assert not at.exception
    assert IDENTITY_KEY not in at.session_state
    assert NOTICE_KEY not in at.session_state  # shown, so taken
    shown = [visible(box.value) for box in (*at.info, *at.error)]
    assert STATE_MISMATCH in shown, shown


def test_no_role_sees_no_access_in_the_sign_in_run(app_env, monkeypatch):
    at, popup = signed_out_app(monkeypatch, "staff")
    popup.clicks = 1
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["No access"]
    assert not any("header.logout" in wid for wid in widget_places(at))
