"""`make bench` still runs: its quick mode's request-count part (no timings asserted, no browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.chromium import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


# What the bench's targets state, per view (README "Benchmark"): one Management API request for a cold view,
# none for a warm one. A dev tenant of N generated users also holds the 3 staff accounts.
ONE_REQUEST = {"management_requests": 1, "requests": {"GET /api/v2/users": 1}, "token_grants": {}}
NO_REQUEST = {"management_requests": 0, "requests": {}, "token_grants": {}}
# Undo a delete (DELETED_PROFILE_DAYS > 0): before the DELETE the person's profile and roles are read fresh
# (GET /users/{id}, GET /users/{id}/roles) and kept in the audit database.
DELETE_AND_REFETCH = {
    "management_requests": 4,
    "requests": {
        "DELETE /api/v2/users/{id}": 1,
        "GET /api/v2/users": 1,
        "GET /api/v2/users/{id}": 1,
        "GET /api/v2/users/{id}/roles": 1,
    },
    "token_grants": {},
}
# The first change of a session also asks Auth0 whether the admin is still an admin and not blocked (their
# user and roles); that answer is kept 60 s, so the second delete costs only the DELETE and the refetch.
FIRST_DELETE = {
    "management_requests": 6,
    "requests": {
        "DELETE /api/v2/users/{id}": 1,
        "GET /api/v2/users": 1,
        "GET /api/v2/users/{id}": 2,  # the admin's standing, and the kept profile (undo a delete)
        "GET /api/v2/users/{id}/roles": 2,
    },
    "token_grants": {},
}
OVERVIEW_BUDGET = {"100": 3, "1000": 12}  # min(ceil(N/100) + 1, 30) for 103 and 1,003 users
REQUEST_TARGETS = [
    "Users view cold: 1 request",
    "Users view warm: 0 requests",
    "Overview cold: <= min(ceil(N/100)+1, 30) requests",
    "Overview warm: 0 requests",
    "Token grants: 1 per process per token lifetime",
    "Person page cold: <= 5 requests",
    "Person page warm: 0 requests",
    "Person page cold wall < 2.0x one request's (median)",
    "Role change: 1 request + the one person's refetch, no listing",
    "Metadata save: 1 PATCH + the one person's read (the stale check), none after, no listing",
]
# The person's page reads these five at once, cold (bench/appviews.person_file_cost).
PERSON_COLD = {
    "GET /api/v2/users/{id}": 1,
    "GET /api/v2/users/{id}/roles": 1,
    "GET /api/v2/users/{id}/logs": 1,
    "GET /api/v2/user-blocks/{id}": 1,
    "GET /api/v2/users/{id}/authentication-methods": 1,
}


def test_quick_bench_counts_requests_and_token_grants(tmp_path: Path) -> None:
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench", "--quick", "--only", "requests", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["sizes"]) == {"100", "1000"}
    assert {"platform", "cpu_count", "python"} <= set(results["machine"])
    for size, entry in results["sizes"].items():
        views = entry["views"]
        assert views["total_users"] == {"100": 103, "1000": 1003}[size]
        for view in ("users_cold", "next_cold", "search_cold"):
            assert (views[view]["requests"], views[view]["detail"]) == (1, ONE_REQUEST), (
                size,
                view,
                views[view],
            )
        for view in ("users_warm", "next_warm", "search_warm", "overview_warm"):
            assert (views[view]["requests"], views[view]["detail"]) == (0, NO_REQUEST), (
                size,
                view,
                views[view],
            )
        assert views["delete_cold"]["detail"] == FIRST_DELETE, (size, views["delete_cold"])
        assert views["delete_warm"]["detail"] == DELETE_AND_REFETCH, (size, views["delete_warm"])
        assert views["overview_budget"] == OVERVIEW_BUDGET[size]
        overview = views["overview_cold"]
        assert 1 <= overview["requests"] <= OVERVIEW_BUDGET[size], (size, overview)
        assert set(overview["detail"]["requests"]) == {"GET /api/v2/users"}, (size, overview)
        assert overview["detail"]["token_grants"] == {}
        for view in ("users_cold", "users_warm", "next_cold", "search_cold", "overview_cold", "delete_cold"):
            assert views[view]["seconds"] > 0
        assert entry["tokens"] == {
            "sessions": 5,
            "reruns": 40,
            "client_credentials_grants": 1,
            "client_credentials_grants_during_reruns": 0,
            "management_requests_during_reruns": 0,
        }, (size, entry["tokens"])
        person = entry["person"]
        assert person["unavailable_sections"] == [], (size, person)
        assert person["cold_detail"]["requests"] == PERSON_COLD, (size, person)
        assert (person["cold"]["requests"], person["warm"]["requests"]) == (5, 0), (size, person)
        role = entry["role_change"]  # bench/roles.py: the change, then the one person's page read again
        for kind, call in (("add", "POST"), ("remove", "DELETE")):
            assert role[kind]["change_detail"]["requests"] == {f"{call} /api/v2/users/{{id}}/roles": 1}, role
            assert (role[kind]["refetch"]["requests"], role[kind]["listing_requests"]) == (5, 0), role
        saved = entry["metadata_save"]  # bench/metadata_save.py: the stale check's read and the PATCH
        assert saved["save_detail"]["requests"] == {
            "GET /api/v2/users/{id}": 1,
            "PATCH /api/v2/users/{id}": 1,
        }, saved
        assert saved["refetch"]["requests"] == 0, saved  # the PATCH's answer is the page's user
    assert [t["target"] for t in results["targets"]] == REQUEST_TARGETS
    # the wall-time target is reported, not asserted here (no timed assertions in tests; see bench/)
    failed = [t for t in results["targets"] if t["met"] is not True and "wall" not in t["target"]]
    assert not failed, failed
    table = (tmp_path / "results.md").read_text()
    assert "Requests: Users view, cold / warm" in table and "Requests: Users view" in done.stdout
    assert "Requests: person page, cold / warm" in table
    assert "Requests: role change, add / remove" in table
    assert "Targets met:" in table and f"of {len(REQUEST_TARGETS)}." in table, table


def test_quick_bench_timing_part_runs_with_floors_that_match_the_app(tmp_path: Path) -> None:
    """The timing part at one size, a few reruns: its floors must still render what the app renders (the
    bench refuses a table-page floor whose elements differ from the app's). No time is asserted."""
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench", "--only", "timing", "--sizes", "100", "--reruns", "3",
         "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    timing = json.loads((tmp_path / "results.json").read_text())["sizes"]["100"]["timing"]
    for view in ("grid", "table", "overview"):
        assert timing[view]["requests_during"] == 0, (view, timing[view])
        assert timing[view]["app"]["n"] == 3 and timing[view]["floor"]["n"] == 3
    assert timing["table"]["elements_floor"]["n"] == 3
    assert timing["grid"]["elements_floor"]["n"] == 3  # floors/grid_page.py, the grid page's elements
    # Each listing interaction ran as a rerun of the listing alone (the bench checks the page's run count).
    for view, steps in (("grid", {"next_page", "sort", "per_page", "open_dialog"}), ("table", {"tick_rows"})):
        measured = timing[f"{view}_interactions"]
        assert steps <= set(measured), (view, measured)
        # (requests_during is not asserted: a series longer than the listing cache's 30 s refetches once)
        assert all(m["app"]["n"] == 3 and m["elements_floor"]["n"] == 3 for m in measured.values()), measured
    assert "the page's elements bare" in (tmp_path / "results.md").read_text()


def test_the_bulk_rows_and_targets_read_a_bulk_result() -> None:
    """bench/bulk.py's result shape (issue 19 part 3) as report.py reads it; the real run takes ~2 minutes
    (`python -m bench --only bulk`), so only its reporting is checked here."""
    from bench import report

    run = {"people": 200, "requests": 200, "seconds": 102.3, "failed": 0, "still_in_tenant": 0}
    bulk = {
        "free": {**run, "floor_s": 99.0, "ratio": 1.033},
        "none": {**run, "seconds": 2.5, "latency_s": 0.06, "per_10_users": 2.08},
        "none_keep": {**run, "requests": 600, "seconds": 6.0, "latency_s": 0.06, "per_10_users": 5.0},
    }
    verdicts = report.bulk_targets(bulk)
    assert [v["met"] for v in verdicts] == [True, True]
    assert all("+" in v["margin"] for v in verdicts)
    rows = report.bulk_markdown(bulk)
    assert len(rows) == 6 and "1.033x the 99 s floor" in rows[3]


def test_the_sign_in_rows_and_targets_read_a_sign_in_result() -> None:
    """bench/signin.py's result shape (issue 19 part 1) as report.py reads it; the real run drives Chromium
    for ~2 minutes (`python -m bench --only signin`), so only its reporting is checked here. A sign-in that
    took a second script run (the old st.rerun() after it) misses the run-count target."""
    from bench import report

    def run(runs: int) -> dict:
        return {"popup_closed_to_card_usable_ms": 700.0, "js_chunks_after_popup_closed": 0,
                "script_runs_after_popup": runs}  # fmt: skip

    def result(runs: int) -> dict:
        summary = {"popup_closed_to_card_usable_ms_median": 700.0, "popup_closed_to_card_usable_all_ms": [700.0],
                   "script_runs_after_popup_median": runs, "server_ms_median": {"run.page": 150.0}}  # fmt: skip
        return {"sizes": {}, "signin": {"size": 1000, "cold": summary, "reload": summary, "cold_runs": [run(runs)], "reload_runs": [run(runs)],
                           "warm_navigation_median_ms": 400.0, "warm_navigation_ms": [400.0],
                           "cold_ratio_to_warm_navigation": 1.75, "reload_ratio_to_warm_navigation": 1.75}}  # fmt: skip

    def run_count_target(results: dict) -> dict:
        (found,) = [t for t in report.targets(results) if "script runs" in t["target"]]
        return found

    assert run_count_target(result(1))["met"] is True
    assert run_count_target(result(2))["met"] is False
    rows: list[tuple[str, dict, str]] = []
    report._signin_rows(
        result(2)["signin"], lambda label, values, target="": rows.append((label, values, target)), "1000"
    )
    (fresh, _reload) = [(values, target) for label, values, target in rows if "script runs" in label]
    assert fresh == ({"1000": "2 (2)"}, "1")


@pytest.mark.browser
def test_the_browser_timings_part_deletes_and_navigates_in_chromium(fresh_tenant, tmp_path: Path) -> None:
    """`make bench`'s browser part (delete -> toast, "Users" click -> grid) still finds what it waits for:
    it once waited for a toast naming the email with the dialog's invisible word joiner in it, and timed
    out. No time is asserted."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from bench import browser

    measured = browser.timings(fresh_tenant, tmp_path, deletes=2, navigations=2)
    assert len(measured["delete_to_toast_s"]) == 2 and len(measured["users_click_to_grid_s"]) == 2
    assert all(t > 0 for t in measured["delete_to_toast_s"] + measured["users_click_to_grid_s"]), measured


def test_the_floors_menu_is_app_pys_admin_menu() -> None:
    """The floors draw app.py's navigation (bench/floors/__init__.py MENU): the same files, paths, titles,
    icons and visibility, read here from app.py's own st.Page calls. A page added to the app and not to the
    floors made every page floor cheaper than the app's page (the menu it sent had 4 pages instead of 6)."""
    import ast

    from bench.floors import MENU

    tree = ast.parse((ROOT / "app.py").read_text())
    pages = []
    for statement in tree.body:  # app.py's module-level pages (USERS = st.Page("pages/users.py", ...))
        node = statement.value if isinstance(statement, ast.Assign) else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page":
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            assert isinstance(node.args[0], ast.Constant), ast.dump(node)
            pages.append(
                (node.args[0].value, kw["url_path"], kw["title"], kw["icon"], kw.get("visibility", "visible"))
            )
    assert len(pages) == 6, pages  # app.py's USERS, OVERVIEW, AUDIT, ACCOUNT, NEW_USER, PERSON
    assert sorted(MENU) == sorted(pages)
