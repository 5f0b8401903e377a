"""Where the time of a sign-in and of a page run goes: named phases, logged at INFO on `admin_core.timing`.

The app configures no logging handler, so by default these lines go nowhere (and cost one level check);
bench/signin.py starts its server with a handler (bench/timed_server.py) and reads them. Only names and
durations are logged: never a token, a code, a claim or a person's data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("admin_core.timing")


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def note(name: str, seconds: float) -> None:
    log.info("%s %.1f ms", name, seconds * 1000)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Times the block (also when it raises, e.g. Streamlit's rerun) when timing lines are enabled."""
    if not enabled():
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        note(name, time.perf_counter() - started)
