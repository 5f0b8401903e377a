"""The sign-in screen's notice for a browser whose server stopped (admin_core/ui/handover.py): only a
`stserver` cookie naming another port than this server's counts."""

import pytest

from admin_core.ui.handover import served_elsewhere


@pytest.mark.parametrize(
    ("cookie", "own", "expected"),
    [
        ("8502", 8501, True),  # the page came from another instance: it stopped
        ("8501", 8501, False),  # this instance served the page: a reload, not a move
        ("8501", "8501", False),
        (None, 8501, False),  # no cluster proxy in front
        ("", 8501, False),
        ("unknown", 8501, False),  # the proxy answered without an instance
        (" 8502 ", 8501, True),
        ("85o2", 8501, False),
    ],
)
def test_only_another_instances_port_means_the_server_stopped(cookie, own, expected):
    assert served_elsewhere(cookie, own) is expected
