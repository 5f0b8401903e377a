"""Plugin for the reliability and security suite (tests/reliability and the browser's reliability tests).

Every test there is marked `reliability` (run the suite alone with `-m reliability`) and names its case.

At the end of a run a table says, per case, how many checks were tried and how many passed.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

CASES = (
    "1 Auth0 faults",
    "2 token requests",
    "3 hostile sign-in",
    "4 hostile input",
    "5 concurrency",
    "6 secrets",
    "7 session",
    "8 authorization",
    "9 third-party requests",
)
_results: dict[str, list[bool]] = defaultdict(list)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("case"):
            item.add_marker(pytest.mark.reliability)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("case")
    if marker and (report.when == "call" or (report.when == "setup" and report.outcome != "passed")):
        _results[marker.args[0]].append(report.outcome == "passed")


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    terminalreporter.section("reliability and security suite")
    terminalreporter.write_line(f"{'case':<22}{'tried':>7}{'passed':>8}")
    for case in sorted(_results):
        runs = _results[case]
        terminalreporter.write_line(f"{case:<22}{len(runs):>7}{sum(runs):>8}")
