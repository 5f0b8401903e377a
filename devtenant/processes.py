"""Child processes for tests, the bench and the dev tenant's own tools: start, learn the port, wait, stop.

    child = Child([sys.executable, "-m", "devtenant", "--port", "0"], name="devtenant")
    base_url = child.wait_for_line(DEVTENANT_READY, timeout=30).group(1)
    child.wait_healthy(f"{base_url}/healthz", timeout=30)
    child.stop()

Here (stdlib + httpx only) rather than under tests/, because `devtenant/stack.py` and
`devtenant/measure.py` use it too and the dev tenant imports neither `tests` nor `admin_core`.
Every wait has a bound; every failure message carries the child's output.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import httpx

# The last line of the dev tenant's start-up banner (devtenant/server.py), printed once it accepts
# connections: with `--port 0` it is the only way to learn the port the kernel gave it.
DEVTENANT_READY = re.compile(r"^devtenant ready on (http://\S+)$", re.MULTILINE)

STOP_SECONDS = 10.0  # SIGTERM (or SIGINT) to SIGKILL
OUTPUT_TAIL = 20_000  # characters of a child's output put into a failure message
POLL_SECONDS = 0.05


class ChildFailed(RuntimeError):
    """A child exited or did not get ready in time; the message ends with its output."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, for children that cannot pick their own.

    PostgreSQL takes no port 0; Streamlit does, but the app's settings must name its URL (and so its
    port) before it starts. Bind-then-close races (another process can take the port before the child
    binds it), so callers tell a taken port from other failures and retry with a new pick. The dev
    tenant picks its own (`--port 0`) and prints it (`DEVTENANT_READY`): use `start_devtenant`.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def stop_processes(
    processes: Iterable[subprocess.Popen],
    *,
    sig: int = signal.SIGTERM,
    timeout: float = STOP_SECONDS,
) -> None:
    """Send `sig` to every live process, kill those still running after `timeout` s, and reap them all.

    Signals go out first and the waits share one deadline, so stopping several children takes one
    bound, not one each."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=timeout)


def stop_process(
    process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = STOP_SECONDS
) -> None:
    """Ask a child to stop (SIGTERM), kill it if it has not after `timeout` s, and reap it."""
    stop_processes([process], sig=sig, timeout=timeout)


def wait_healthy(
    url: str,
    *,
    process: subprocess.Popen,
    timeout: float,
    name: str = "the process",
    output: Callable[[], str] = lambda: "",
    interval: float = POLL_SECONDS,
) -> float:
    """Poll `url` until it answers 200, at most `timeout` s; the seconds it took.

    Raises ChildFailed (with `output()` appended) when the process exits first or time runs out."""
    started = time.monotonic()
    deadline = started + timeout
    with httpx.Client(timeout=2, trust_env=False) as http:
        while True:
            if process.poll() is not None:
                raise ChildFailed(
                    _with_output(f"{name} exited with {process.returncode} during start-up", output)
                )
            try:
                if http.get(url, timeout=max(0.1, min(2.0, deadline - time.monotonic()))).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ChildFailed(_with_output(f"{name} did not answer {url} within {timeout:.0f} s", output))
            time.sleep(interval)


def _with_output(message: str, output: Callable[[], str]) -> str:
    text = output()
    return f"{message}:\n{text[-OUTPUT_TAIL:]}" if text else f"{message} (no output)."


class Child:
    """A child process whose stdout and stderr go to a file (so it never blocks on a full pipe).

    `log_path` keeps the file (a fixture attaches it to a report); without one a temporary file is
    used and deleted by `stop()`.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        cwd: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        start_new_session: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        if log_path is None:
            handle, temporary = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
            os.close(handle)
            self.log_path, self._delete_log = Path(temporary), True
        else:
            self.log_path, self._delete_log = Path(log_path), False
        self._log = self.log_path.open("wb")
        env = dict(os.environ if env is None else env)
        env.setdefault("PYTHONUNBUFFERED", "1")  # a Python child's lines reach the file as printed
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argv from our own callers, no shell
                self.argv,
                cwd=cwd,
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=start_new_session,
            )
        except BaseException:
            self._close_log()
            raise

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """Everything the child has printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_line(self, pattern: re.Pattern[str], *, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in the child's output, waiting at most `timeout` s for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = pattern.search(self.output())
            if found:
                return found
            if not self.alive:
                found = pattern.search(self.output())  # it may have printed the line and exited
                if found:
                    return found
                raise ChildFailed(
                    _with_output(
                        f"{self.name} exited with {self.proc.returncode} during start-up", self.output
                    )
                )
            if time.monotonic() > deadline:
                raise ChildFailed(
                    _with_output(
                        f"{self.name} printed no {pattern.pattern!r} within {timeout:.0f} s", self.output
                    )
                )
            time.sleep(POLL_SECONDS)

    def wait_healthy(self, url: str, *, timeout: float, interval: float = POLL_SECONDS) -> float:
        """Poll `url` until it answers 200 (bounded); the seconds it took. ChildFailed shows the output."""
        return wait_healthy(
            url, process=self.proc, timeout=timeout, name=self.name, output=self.output, interval=interval
        )

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = STOP_SECONDS) -> None:
        """Stop (signal, kill after `timeout` s, reap) and close the output file."""
        try:
            stop_process(self.proc, sig=sig, timeout=timeout)
        finally:
            self._close_log()

    def _close_log(self) -> None:
        if not self._log.closed:
            self._log.close()
        if self._delete_log:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_devtenant(
    args: Sequence[str],
    *,
    python: str,
    timeout: float,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> tuple[Child, str]:
    """`python -m devtenant ARGS` (`--port 0` unless ARGS name a port), ready and healthy; (child, base URL).

    The port is read from the line the dev tenant prints once it listens, so no port is picked early
    and nothing can take it in between."""
    args = list(args)
    if "--port" not in args:
        args += ["--port", "0"]
    deadline = time.monotonic() + timeout
    child = Child([python, "-m", "devtenant", *args], name="devtenant", cwd=cwd, env=env, log_path=log_path)
    try:
        base_url = child.wait_for_line(DEVTENANT_READY, timeout=timeout).group(1)
        child.wait_healthy(f"{base_url}/healthz", timeout=max(1.0, deadline - time.monotonic()))
    except BaseException:
        child.stop()
        raise
    return child, base_url
