"""`make bench` still runs: its quick mode's request-count part (no timings asserted, no browser)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
        for view in ("users_cold", "users_warm", "next_cold", "search_cold", "overview_cold", "delete_cold"):
            assert isinstance(views[view]["requests"], int), (size, view, views[view])
            assert views[view]["seconds"] > 0
        assert views["total_users"] >= int(size)
        assert isinstance(entry["tokens"]["client_credentials_grants"], int)
    assert results["targets"], "no target verdicts"
    table = (tmp_path / "results.md").read_text()
    assert "Requests: Users view, cold / warm" in table and "Requests: Users view" in done.stdout


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
    assert "the page's elements bare" in (tmp_path / "results.md").read_text()
