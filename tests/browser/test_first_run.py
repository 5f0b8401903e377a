"""The first run, as a newcomer does it: a fresh clone, `make run`, sign in, see users, Ctrl-C.

Also: `streamlit run app.py` with the dev tenant's settings only in `.env` (the day-to-day way) signs in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from admin_core.settings import SETTINGS
from devtenant.processes import free_port, stop_process
from tests.browser.helpers import ADMIN, card_delete_buttons, open_signed_out, sign_in
from tests.support.devtenant_proc import CLIENT_ID, CLIENT_SECRET, DevTenant

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VENV_BUILD_SECONDS = 600  # a fresh .venv from requirements.txt (pip's cache and local wheels make it quicker)
SERVERS_SECONDS = 120  # after the venv exists: dev tenant + streamlit up
STOP_SECONDS = 30  # Ctrl-C to every process gone
LOG_TAIL = 20_000


# --- helpers ------------------------------------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    """This shell's environment as a newcomer's would be: no app settings, no activated virtualenv."""
    names = {spec.name for spec in SETTINGS} | {"APP_PORT", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("AUTH0_")}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def copy_as_fresh_clone(target: Path) -> Path:
    """The files a fresh clone has: tracked plus untracked-but-not-ignored (so no .venv, no .env, no data)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    target.mkdir(parents=True)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree but still in the index
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    assert not (target / ".venv").exists() and not (target / ".env").exists()
    return target


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


class Make:
    """`make run ...` in its own process group, output to a file."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str]) -> None:
        self.log_path = workdir.parent / f"{workdir.name}-make.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["make", *args],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches make and everything it started
        )
        self.pgid = self.proc.pid

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL:]
        except OSError:
            return ""

    def interrupt(self) -> None:
        """What Ctrl-C in the terminal does: SIGINT to the whole foreground process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGINT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()


def wait_for(what: str, check, seconds: float, make: Make) -> float:
    started = time.monotonic()
    while not check():
        if make.proc.poll() is not None:
            pytest.fail(
                f"make exited ({make.proc.returncode}) before {what}:\n{make.output()}", pytrace=False
            )
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what}: not within {seconds:.0f} s. make's output:\n{make.output()}", pytrace=False)
        time.sleep(0.5)
    return time.monotonic() - started


# --- tests --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(VENV_BUILD_SECONDS + SERVERS_SECONDS + 180)
def test_make_run_in_a_fresh_clone_starts_both_servers_signs_in_and_ctrl_c_stops_both(page, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clone = copy_as_fresh_clone(tmp_path / "clone")
    app_port, tenant_port = free_port(), free_port()
    while tenant_port == app_port:
        tenant_port = free_port()

    make = Make(
        clone,
        ["run", f"DEVTENANT_ARGS=--app-port {app_port} --tenant-port {tenant_port}"],
        clean_environment(),
    )
    passed = False
    try:
        # The venv is built first (minutes at most), then the stack prints its banner once both answer.
        venv_python = clone / ".venv" / "bin" / "python"
        built = wait_for(
            "make built .venv and started both servers",
            lambda: "Ctrl-C stops both servers" in make.output(),
            VENV_BUILD_SECONDS + SERVERS_SECONDS,
            make,
        )
        assert venv_python.exists(), make.output()
        assert healthy(f"http://127.0.0.1:{tenant_port}/healthz"), make.output()
        assert healthy(f"http://127.0.0.1:{app_port}/_stcore/health"), make.output()
        output = make.output()
        assert f"http://localhost:{app_port}" in output, output
        assert "admin@example.com" in output, output
        print(f"make run: both servers up after {built:.0f} s")

        open_signed_out(page, f"http://localhost:{app_port}/")
        expect(page.get_by_text("Local dev tenant", exact=False).first).to_be_visible()
        sign_in(page, ADMIN)
        expect(page.get_by_role("heading", name="Users")).to_be_visible()
        expect(page.get_by_role("button", name="Details").first).to_be_visible()
        expect(card_delete_buttons(page).first).to_be_visible()
        page.close()

        # Ctrl-C: make, the stack, the dev tenant and streamlit all get SIGINT and all go away.
        stop_started = time.monotonic()
        make.interrupt()
        try:
            make.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make still runs {STOP_SECONDS} s after Ctrl-C:\n{make.output()}", pytrace=False)
        deadline = time.monotonic() + STOP_SECONDS
        while group_alive(make.pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        stopped = time.monotonic() - stop_started
        assert not group_alive(make.pgid), f"processes left behind after Ctrl-C:\n{make.output()}"
        assert not port_open(app_port), f"the app port {app_port} still answers after Ctrl-C"
        assert not port_open(tenant_port), f"the dev tenant port {tenant_port} still answers after Ctrl-C"
        # make reports the interrupt (killed by SIGINT, or exit 2); anything else is a crash.
        assert make.proc.returncode in (0, 2, 130, -signal.SIGINT), (make.proc.returncode, make.output())
        assert "Traceback" not in make.output(), make.output()
        print(f"Ctrl-C: everything stopped within {stopped:.1f} s")
        passed = True
    finally:
        make.kill()
        if not passed:
            print(f"--- make's output ({make.log_path}) ---\n{make.output()}")


def test_streamlit_run_with_dev_tenant_settings_in_dotenv_signs_in(page, browser_tenant: DevTenant, tmp_path):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    port = free_port()
    (workdir / ".env").write_text(
        f"AUTH0_DOMAIN={browser_tenant.base_url}\n"
        f"AUTH0_CLIENT_ID={CLIENT_ID}\n"
        f"AUTH0_CLIENT_SECRET={CLIENT_SECRET}\n"
        f"APP_URL=http://localhost:{port}\n"
    )
    env = clean_environment()
    assert not [k for k in env if k.startswith("AUTH0_")]
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log_path = tmp_path / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        passed = False
        try:
            deadline = time.monotonic() + 60
            while not healthy(f"http://127.0.0.1:{port}/_stcore/health"):
                assert proc.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.2)

            open_signed_out(page, f"http://localhost:{port}/")
            expect(page.get_by_text("Local dev tenant accounts")).to_be_visible()
            sign_in(page, ADMIN)
            expect(page.get_by_role("heading", name="Users")).to_be_visible()
            expect(page.get_by_role("button", name="Details").first).to_be_visible()
            # The app read .env from its working directory: its audit log lives there too.
            assert (workdir / "data").is_dir(), sorted(p.name for p in workdir.iterdir())
            passed = True
        finally:
            stop_process(proc)
            if not passed:
                print(f"--- streamlit's output ---\n{log_path.read_text(errors='replace')[-LOG_TAIL:]}")
