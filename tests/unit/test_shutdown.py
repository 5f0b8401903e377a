"""The drain behind SIGTERM (admin_core.shutdown), without Streamlit or a clock: what is refused, what is
waited for, and the order of the steps."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from admin_core.shutdown import NOT_STARTED, Drain, Draining, Shutdown, install_sigterm


def test_changes_run_until_the_drain_begins_then_are_refused_in_words():
    drain = Drain()
    with drain.change():
        assert drain.running == 1
    drain.begin()
    with pytest.raises(Draining) as refused, drain.change():
        pass
    assert refused.value.message == NOT_STARTED
    assert drain.running == 0


def test_a_bulk_run_is_waited_for_even_after_the_drain_began():
    drain = Drain()
    drain.begin()
    with drain.hold():
        assert drain.running == 1
        assert not drain.wait_idle(time.monotonic())  # a deadline already reached: not idle
    assert drain.wait_idle(time.monotonic())


def test_the_drain_waits_for_the_running_change_and_runs_the_hooks_with_the_deadline():
    drain = Drain()
    seen: list[float] = []
    drain.on_drain(seen.append)
    drain.on_drain(lambda _deadline: 1 / 0)  # a failing hook does not stop the others or the drain
    release = threading.Event()

    def change() -> None:
        with drain.change():
            release.wait(30)

    worker = threading.Thread(target=change)
    worker.start()
    while drain.running == 0:
        time.sleep(0.001)
    result: list[bool] = []
    drainer = threading.Thread(target=lambda: result.append(drain.drain(60)))
    drainer.start()
    while not drain.draining:
        time.sleep(0.001)
    assert drainer.is_alive()  # still waiting for the change
    release.set()
    drainer.join(30)
    worker.join(30)
    assert result == [True] and len(seen) == 1


def test_shutdown_fails_health_first_then_tells_the_sessions_then_stops_once():
    drain = Drain()
    steps: list[str] = []
    shutdown = Shutdown(
        drain_seconds=5,
        stop=lambda: steps.append("stop"),
        after=lambda: steps.append(f"tell sessions (draining={drain.draining})"),
        notice_seconds=0,
        drain=drain,
    )
    shutdown.start()
    assert drain.draining  # at once, before the thread does anything
    shutdown.start()  # a second SIGTERM changes nothing
    assert shutdown.finished.wait(30)
    assert steps == ["tell sessions (draining=True)", "stop"]


def test_install_sigterm_replaces_the_handler_and_hands_back_the_old_one():
    before = signal.getsignal(signal.SIGTERM)
    shutdown = Shutdown(drain_seconds=0, stop=lambda: None, notice_seconds=0, drain=Drain())
    try:
        assert install_sigterm(shutdown) is before
        assert signal.getsignal(signal.SIGTERM) is not before
    finally:
        signal.signal(signal.SIGTERM, before)
