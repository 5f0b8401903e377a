"""`python -m bench --quick --only cluster` still runs and its report reads (no timing asserted): requests
per second with two instances and one, and memory per instance (started, after the load, and with 2
signed-in sessions in Chromium: what the first session on an instance adds, and each further one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.postgres import in_ci
from tests.support.chromium import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = {"app-1", "app-2"}


@pytest.mark.timeout(600)
def test_quick_cluster_bench_measures_both_set_ups_and_reports_them(nginx, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "cluster", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    cluster = json.loads((tmp_path / "results.json").read_text())["cluster"]
    for path in ("health", "page"):
        for setup in ("two", "one"):
            assert cluster[path][setup]["ok"] > 0, (path, setup, cluster[path][setup])
            assert cluster[path][setup]["failed"] == 0, (path, setup, cluster[path][setup])
        assert cluster[path]["ratio"] is not None
    for figures in (cluster["rss_started_mb"], cluster["rss_mb"]):
        assert set(figures) == INSTANCES and all(mb > 50 for mb in figures.values()), figures
    table = (tmp_path / "results.md").read_text()
    assert "2 instances / 1" in table and "RSS per instance when started" in table

    signed_in = cluster["signed_in"]
    if not CHROMIUM.exists() and not in_ci():
        assert "skipped" in signed_in and "RSS with signed-in sessions | skipped" in table
        pytest.skip(f"no Chromium at {CHROMIUM}: the signed-in memory was not measured")
    assert signed_in["sessions"] >= 2 and signed_in["connected_at_end"] == signed_in["sessions"], signed_in
    # Every session counted on the instance that served its page load, and both instances hold some.
    assert set(signed_in["held"]) == INSTANCES and sum(signed_in["held"].values()) == signed_in["sessions"]
    assert all(signed_in["held"].values()), signed_in["held"]
    for key in ("rss_mb", "first_session_mb", "growth_per_session_mb"):
        assert set(signed_in[key]) == INSTANCES, (key, signed_in)
    # Every instance ran the pages for its first session: that run loads code and fills caches.
    assert all(mb > 0 for mb in signed_in["first_session_mb"].values()), signed_in
    assert f"RSS per instance with {signed_in['sessions']} signed-in sessions" in table
    assert "RSS added by the first signed-in session" in table and "per further signed-in session" in table
