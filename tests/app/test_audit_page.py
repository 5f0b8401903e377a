"""The Audit log page (AppTest against the dev tenant over real HTTP; the store is the app's own SQLite file)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from admin_core import audit as audit_module
from admin_core.audit import Actor, AuditStore, Target
from admin_core.auth import IDENTITY_KEY
from admin_core.settings import load_settings
from tests.support.app_env import ROOT, clear_app_caches
from tests.support.markdown import visible

AUDIT = "pages/audit.py"
STAFF = {"admin@example.com", "viewer@example.com", "staff@example.com"}
ALICE = Actor(sub="auth0|alice", email="alice@example.com")
BOB = Actor(sub="github|4242", email="bob@example.org")
CAROL = Target(user_id="auth0|carol", email="carol@example.com", name="Carol Jones")
DAVE = Target(user_id="auth0|dave", email="dave@example.net", name="Dave Smith")


# --- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def store(app_env):
    """A second store on the app's own audit database (same URL the app's get_audit() uses)."""
    audit = AuditStore(load_settings(app_env, dotenv_path=None).audit_database_url)
    yield audit
    audit.close()


def record_at(store: AuditStore, when: datetime, **event) -> str:
    """Record an event that happened at `when` (an explicit time: nothing of the store is replaced)."""
    return store.record(occurred_at=when, **event)


def at_time(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def seeded(store):
    """Four known events on known UTC days, besides whatever the app writes itself (sign-ins)."""
    record_at(store, at_time(10, 9), actor=ALICE, action="delete", target=CAROL)
    record_at(store, at_time(11, 10), actor=BOB, action="block", target=DAVE, ok=False,
              message="Auth0 is having trouble right now (HTTP 500).")  # fmt: skip
    record_at(store, at_time(12, 23, 59, 59), actor=ALICE, action="unblock", target=DAVE)
    record_at(store, at_time(13, 0), actor=BOB, action="sign_in", message="role admin")
    return store


def audit_page(sign_in) -> AppTest:
    at = sign_in("admin")
    at.switch_page(AUDIT)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Audit log"]
    return at


def rows(at: AppTest) -> list[dict]:
    if not at.dataframe:
        return []
    shown = at.dataframe[0].value
    return shown.astype(object).where(shown.notna(), None).to_dict("records")  # empty cells as None


def paging_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Page **"))


def seeded_targets(at: AppTest) -> list[tuple[str, str | None]]:
    """(action, target_user_id) of the seeded rows shown, in page order (the app's sign-in rows left out)."""
    return [(r["action"], r["target_user_id"]) for r in rows(at) if r["actor"] not in STAFF]


@pytest.fixture
def downloads(monkeypatch):
    """Reads what a download button serves: its file, or, for data built on click (a callable), what the
    browser's click gets (the media file manager runs the callable, as the server does for the browser)."""
    made: list[MediaFileManager] = []
    original = MediaFileManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MediaFileManager, "__init__", init)

    def read(at: AppTest, key: str) -> str:
        proto = at.download_button(key=key).proto
        url = proto.url or (
            made[-1].execute_deferred(proto.deferred_file_id) if proto.deferred_file_id else ""
        )
        assert url, "the download button serves no data"
        served = made[-1].read_file(url.rsplit("/", 1)[1].split(".")[0])
        assert served is not None, "the download button's file is gone"
        return served.content.decode()

    return read


# --- what an admin sees -------------------------------------------------------------------------------


def test_admin_sees_newest_first_after_signing_in_and_blocking(sign_in, fresh_tenant):
    at = sign_in("admin")
    admin = at.session_state[IDENTITY_KEY]
    user = next(u for u in fresh_tenant.users() if u.get("email") not in STAFF and not u.get("blocked"))
    at.text_input(key="users.text").input(user["email"]).run()
    at.button(key=f"block:{user['user_id']}").click().run()
    assert [visible(t.value) for t in at.toast] == [f"Blocked {user['email']}"]

    at.switch_page(AUDIT)
    at.run()
    assert not at.exception and not at.error
    shown = rows(at)
    assert [(r["action"], r["state"]) for r in shown] == [("block", "done"), ("sign_in", "done")]
    block, signed_in = shown
    assert (block["actor"], block["actor_sub"]) == ("admin@example.com", admin.sub)
    assert (block["target_user_id"], block["target_email"]) == (user["user_id"], user["email"])
    assert signed_in["actor"] == "admin@example.com" and signed_in["message"] == "role admin"
    assert block["time"] >= signed_in["time"]
    assert str(block["time"].tz) == "UTC"
    assert paging_text(at) == "Page **1** of **1** · 2 entries"


def test_rows_are_newest_first_and_the_outcome_is_readable(sign_in, seeded):
    at = audit_page(sign_in)
    assert seeded_targets(at) == [
        ("sign_in", None),
        ("unblock", "auth0|dave"),
        ("block", "auth0|dave"),
        ("delete", "auth0|carol"),
    ]
    times = [r["time"] for r in rows(at)]
    assert times == sorted(times, reverse=True)
    failed = next(r for r in rows(at) if r["action"] == "block")
    assert (
        failed["state"] == "failed" and failed["message"] == "Auth0 is having trouble right now (HTTP 500)."
    )


def test_attempted_rows_say_no_outcome_was_recorded(sign_in, store):
    store.begin(actor=ALICE, action="delete", target=CAROL)
    at = audit_page(sign_in)
    row = next(r for r in rows(at) if r["action"] == "delete")
    assert row["state"] == "attempted, no outcome recorded"


# --- filters -----------------------------------------------------------------------------------------


def test_actor_filter_offers_everyone_seen_and_narrows(sign_in, seeded):
    at = audit_page(sign_in)
    who = at.selectbox(key="audit.actor")
    assert who.options == ["Anyone", "admin@example.com", "alice@example.com", "bob@example.org"]
    who.set_value("alice@example.com").run()
    assert seeded_targets(at) == [("unblock", "auth0|dave"), ("delete", "auth0|carol")]
    assert {r["actor"] for r in rows(at)} == {"alice@example.com"}
    at.selectbox(key="audit.actor").set_value("admin@example.com").run()
    assert [r["action"] for r in rows(at)] == ["sign_in"]
    at.selectbox(key="audit.actor").set_value("Anyone").run()
    assert len(rows(at)) == 5


def test_action_filter_offers_every_action_and_narrows(sign_in, seeded):
    at = audit_page(sign_in)
    action = at.selectbox(key="audit.action")
    assert action.options[0] == "Any" and len(action.options) == 1 + len(audit_module.ACTIONS)
    action.set_value("block").run()
    assert seeded_targets(at) == [("block", "auth0|dave")]
    at.selectbox(key="audit.action").set_value("sign_in").run()
    assert {r["action"] for r in rows(at)} == {"sign_in"} and len(rows(at)) == 2  # Bob's and the admin's
    at.selectbox(key="audit.action").set_value("logout").run()
    assert not at.dataframe
    # app.py's header (run on every rerun, as on a server) adds the dev tenant banner.
    assert [i.value for i in at.info if not i.value.startswith("Local dev tenant at ")] == [
        "No audit entries match these filters."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("carol@", [("delete", "auth0|carol")]),  # email
        ("CAROL JON", [("delete", "auth0|carol")]),  # name, any case
        ("|dave", [("unblock", "auth0|dave"), ("block", "auth0|dave")]),  # user_id
        ("  dave  ", [("unblock", "auth0|dave"), ("block", "auth0|dave")]),  # trimmed
        ("%", []),  # LIKE wildcards are literal
        ("nobody", []),
    ],
)
def test_target_filter_matches_email_name_or_user_id(sign_in, seeded, text, expected):
    at = audit_page(sign_in)
    at.text_input(key="audit.target").input(text).run()
    assert seeded_targets(at) == expected
    if not expected:
        assert not at.dataframe  # the admin's own sign-in has no target either


def test_date_range_is_whole_utc_days_both_ends_included(sign_in, seeded):
    at = audit_page(sign_in)
    at.date_input(key="audit.dates").set_value((date(2026, 1, 11), date(2026, 1, 12))).run()
    # 12 Jan 23:59:59 is in, 13 Jan 00:00 and 10 Jan are out; so is today's sign-in.
    assert seeded_targets(at) == [("unblock", "auth0|dave"), ("block", "auth0|dave")]
    assert len(rows(at)) == 2
    at.date_input(key="audit.dates").set_value((date(2026, 1, 10), date(2026, 1, 10))).run()
    assert seeded_targets(at) == [("delete", "auth0|carol")]
    at.date_input(key="audit.dates").set_value((date(2026, 1, 13),)).run()  # one day picked: from then on
    assert [r["action"] for r in rows(at)] == ["sign_in", "sign_in"]


def test_filters_combine(sign_in, seeded):
    at = audit_page(sign_in)
    at.selectbox(key="audit.actor").set_value("alice@example.com").run()
    at.text_input(key="audit.target").input("dave").run()
    assert seeded_targets(at) == [("unblock", "auth0|dave")]
    at.selectbox(key="audit.action").set_value("block").run()
    assert not at.dataframe


# --- paging ------------------------------------------------------------------------------------------


def test_paging_with_previous_next_and_totals(sign_in, store):
    start = at_time(1)
    for i in range(60):
        target = Target(user_id=f"auth0|u{i:02d}", email=f"u{i:02d}@example.com", name=f"User {i:02d}")
        record_at(store, start + timedelta(minutes=i), actor=ALICE, action="block", target=target)
    at = audit_page(sign_in)
    assert paging_text(at) == "Page **1** of **2** · 61 entries"  # 60 + the admin's sign-in, 50 a page
    at.selectbox(key="audit.size").set_value(24).run()
    assert paging_text(at) == "Page **1** of **3** · 61 entries"
    assert at.button(key="audit.prev").disabled and not at.button(key="audit.next").disabled
    first = rows(at)
    assert len(first) == 24 and first[0]["action"] == "sign_in" and first[1]["target_user_id"] == "auth0|u59"

    at.button(key="audit.next").click().run()
    assert paging_text(at) == "Page **2** of **3** · 61 entries"
    assert [r["target_user_id"] for r in rows(at)] == [f"auth0|u{i:02d}" for i in range(36, 12, -1)]
    at.button(key="audit.next").click().run()
    assert paging_text(at) == "Page **3** of **3** · 61 entries"
    assert [r["target_user_id"] for r in rows(at)] == [f"auth0|u{i:02d}" for i in range(12, -1, -1)]
    assert at.button(key="audit.next").disabled
    at.button(key="audit.prev").click().run()
    assert paging_text(at) == "Page **2** of **3** · 61 entries"

    at.text_input(key="audit.target").input("auth0|u0").run()  # a filter goes back to the first page
    assert paging_text(at) == "Page **1** of **1** · 10 entries"


def test_a_page_past_the_end_shows_the_last_page(sign_in, store):
    for i in range(30):
        record_at(store, at_time(2) + timedelta(minutes=i), actor=ALICE, action="unblock",
                  target=Target(user_id=f"auth0|p{i:02d}"))  # fmt: skip
    at = audit_page(sign_in)
    at.selectbox(key="audit.size").set_value(24).run()
    at.button(key="audit.next").click().run()
    assert paging_text(at) == "Page **2** of **2** · 31 entries"
    with store.engine.begin() as conn:  # entries vanish under the open page (e.g. another database)
        conn.execute(
            audit_module.audit_events.delete().where(audit_module.audit_events.c.action == "unblock")
        )
    at.run()
    assert paging_text(at) == "Page **1** of **1** · 1 entry"
    assert not at.exception


# --- CSV export --------------------------------------------------------------------------------------


def test_csv_export_holds_exactly_the_filtered_rows(sign_in, seeded, downloads):
    at = audit_page(sign_in)
    everything = downloads(at, "audit.csv")
    assert everything == seeded.export_csv()
    at.text_input(key="audit.target").input("dave").run()
    at.date_input(key="audit.dates").set_value((date(2026, 1, 11), date(2026, 1, 12))).run()
    text = downloads(at, "audit.csv")
    since = datetime(2026, 1, 11, tzinfo=UTC)
    until = datetime(2026, 1, 12, 23, 59, 59, 999999, tzinfo=UTC)
    assert text == seeded.export_csv(target_text="dave", since=since, until=until)
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["action"], r["state"], r["target_user_id"]) for r in table] == [
        ("unblock", "ok", "auth0|dave"),
        ("block", "error", "auth0|dave"),
    ]
    assert table[0]["target_name"] == "Dave Smith"
    assert table[1]["message"] == "Auth0 is having trouble right now (HTTP 500)."
    assert table[0]["occurred_at"] == "2026-01-12T23:59:59+00:00"
    label = at.download_button(key="audit.csv").label
    assert label == "Download the 2 matching entries as CSV"


def test_csv_is_built_when_the_download_is_clicked_not_on_every_rerun(
    sign_in, seeded, downloads, monkeypatch
):
    """Browsing the log costs no export query; the click gets the CSV of the filters shown."""
    built: list[dict] = []
    export_csv = AuditStore.export_csv

    def counting(self, **filters):
        built.append(filters)
        return export_csv(self, **filters)

    monkeypatch.setattr(AuditStore, "export_csv", counting)
    at = audit_page(sign_in)
    at.text_input(key="audit.target").input("dave").run()
    at.run()
    assert built == []
    served = downloads(at, "audit.csv")
    assert len(built) == 1 and built[0]["target_text"] == "dave"
    assert served == seeded.export_csv(target_text="dave")


def test_csv_export_guards_formula_cells(sign_in, store, downloads):
    store.record(actor=ALICE, action="block", target=Target(user_id="auth0|x", name="=cmd|' /C calc'!A0"))
    at = audit_page(sign_in)
    at.text_input(key="audit.target").input("auth0|x").run()
    (row,) = list(csv.DictReader(io.StringIO(downloads(at, "audit.csv"))))
    assert row["target_name"] == "'=cmd|' /C calc'!A0"


# --- who may see it, and when the store fails --------------------------------------------------------


def test_viewer_cannot_open_the_audit_page_directly(sign_in, seeded):
    signed_in = sign_in("viewer")
    at = AppTest.from_file(str(ROOT / AUDIT), default_timeout=30)
    at.session_state[IDENTITY_KEY] = signed_in.session_state[IDENTITY_KEY]
    at.run()
    assert not at.exception
    assert any("admins only" in e.value for e in at.error)
    assert not at.dataframe and not at.download_button and not at.selectbox
    assert not [t.value for t in at.title if t.value == "Audit log"]


def test_viewer_navigation_has_no_audit_page(sign_in):
    at = sign_in("viewer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(AUDIT)
    assert [t.value for t in at.title] == ["Users"]


def test_an_unreadable_audit_log_is_explained_without_a_traceback(sign_in, monkeypatch):
    # Nothing listens on port 1: every connection is refused at once.
    monkeypatch.setenv("AUDIT_DATABASE_URL", "postgresql+psycopg://audit@127.0.0.1:1/audit")
    clear_app_caches()
    at = audit_page(sign_in)  # signing in still works; the sign-in event could not be recorded
    (error,) = at.error
    assert error.value.startswith("Could not read the audit log (database unreachable)")
    assert "Traceback" not in error.value and "postgresql+psycopg" not in error.value
    assert not at.dataframe and not at.download_button
