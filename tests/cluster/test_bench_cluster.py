"""`python -m bench --quick --only cluster` still runs and its report reads (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_cluster_bench_measures_both_set_ups_and_reports_them(nginx, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "cluster", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    cluster = json.loads((tmp_path / "results.json").read_text())["cluster"]
    for path in ("health", "page"):
        for setup in ("two", "one"):
            assert cluster[path][setup]["ok"] > 0, (path, setup, cluster[path][setup])
            assert cluster[path][setup]["failed"] == 0, (path, setup, cluster[path][setup])
        assert cluster[path]["ratio"] is not None
    assert set(cluster["rss_mb"]) == {"app-1", "app-2"}
    table = (tmp_path / "results.md").read_text()
    assert "2 instances / 1" in table and "RSS per instance" in table
