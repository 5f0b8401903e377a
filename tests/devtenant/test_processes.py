"""devtenant/processes.py: children found on the port they print, bounded waits, a stop that always ends."""

from __future__ import annotations

import ast
import re
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtenant.processes import Child, ChildFailed, start_devtenant
from tests.support.devtenant_proc import DevTenant

ROOT = Path(__file__).resolve().parents[2]

IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring SIGTERM', flush=True)\n"
    "time.sleep(120)\n"
)


def test_a_dev_tenant_started_on_port_0_is_found_on_the_port_it_printed():
    child, base_url = start_devtenant(["--users", "5"], python=sys.executable, timeout=30, cwd=ROOT)
    try:
        port = int(base_url.rsplit(":", 1)[1])
        assert port != 0
        assert f"devtenant ready on http://127.0.0.1:{port}" in child.output().splitlines()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5, trust_env=False).status_code == 200
    finally:
        child.stop()


def test_the_test_fixture_learns_its_addresses_from_the_dev_tenant():
    with DevTenant(users=5) as dev:
        assert dev.port != 0 and dev.base_url == f"http://127.0.0.1:{dev.port}"
        assert dev.domain == f"127.0.0.1:{dev.port}" and dev.issuer == f"{dev.base_url}/"
        assert f"devtenant ready on {dev.base_url}" in dev.output()
        assert dev.stats()["management_requests"] == 0


def test_a_child_that_ignores_sigterm_is_killed_within_the_bound():
    child = Child([sys.executable, "-c", IGNORES_SIGTERM], name="stubborn")
    child.wait_for_line(re.compile("ignoring SIGTERM"), timeout=30)  # its handler is in place
    started = time.monotonic()
    child.stop(timeout=1)
    assert time.monotonic() - started < 5
    assert child.proc.returncode == -signal.SIGKILL


def test_a_dev_tenant_that_exits_during_start_up_fails_with_its_output():
    started = time.monotonic()
    with pytest.raises(
        ChildFailed, match=r"(?s)exited with 2 during start-up.*only binds loopback addresses"
    ):
        start_devtenant(["--host", "192.0.2.1"], python=sys.executable, timeout=30, cwd=ROOT)
    assert time.monotonic() - started < 30


def test_a_health_wait_gives_up_at_its_bound_and_shows_the_output():
    child = Child(
        [sys.executable, "-c", "import time; print('still warming up', flush=True); time.sleep(120)"],
        name="slow",
    )
    try:
        started = time.monotonic()
        with pytest.raises(ChildFailed, match=r"(?s)did not answer .* within 1 s.*still warming up"):
            child.wait_healthy("http://127.0.0.1:9/healthz", timeout=1)
        assert time.monotonic() - started < 5
    finally:
        child.stop(timeout=1)


# The rule: free-port picks, health waits and stops live in devtenant/processes.py only.
HELPERS = {"free_port", "stop_process", "stop_processes", "wait_healthy"}


def _defines_or_binds_port_0(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name in HELPERS:
            found.append(f"defines {node.name}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "bind"
            and node.args
            and isinstance(node.args[0], ast.Tuple)
            and len(node.args[0].elts) == 2
            and isinstance(node.args[0].elts[1], ast.Constant)
            and node.args[0].elts[1].value == 0
        ):
            found.append(f"binds port 0 on line {node.lineno}")
    return found


def test_port_picks_health_waits_and_stops_exist_only_in_devtenant_processes():
    offenders = {}
    for folder in ("devtenant", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "devtenant" / "processes.py":
                continue
            found = _defines_or_binds_port_0(path)
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert not offenders, offenders


def test_the_dev_tenant_never_imports_the_tests():
    for path in (ROOT / "devtenant").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "tests" for a in node.names), path
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert node.module.split(".")[0] != "tests", path
