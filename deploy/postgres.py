"""A throwaway PostgreSQL server on loopback: for the tests (`tests/support/postgres.py`) and `make cluster`.

The server lives in a fresh temporary directory, listens on 127.0.0.1 on a free port (and on a
Unix socket in the same directory), trusts local connections, and is stopped and deleted at the
end. It uses the Debian server binaries under ``/usr/lib/postgresql/<version>/bin`` (or ``$PG_BIN``,
or ``pg_ctl`` on PATH). As root, where ``initdb`` refuses to run, every server command runs as the
``postgres`` system user (created by Debian's ``postgresql`` package) via ``runuser``.

`start_postgres()` raises PostgresUnavailable when the binaries (or the ``postgres`` user) are missing;
the tests turn that into a skip (or a failure under $CI), `make cluster` into a sentence.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from devtenant.processes import free_port

INSTALL_HINT = "Install the server with `apt-get install postgresql` (Debian/Ubuntu)."
COMMAND_TIMEOUT_S = 120


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (binaries or the postgres user are missing)."""


def in_ci() -> bool:
    """True when the CI environment variable is set (to anything but an explicit false)."""
    value = os.environ.get("CI", "").strip().lower()
    return value not in ("", "0", "false", "no")


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb`` and ``pg_ctl``, newest Debian version first, or None."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))

    def version_key(path: str) -> tuple[int, str]:
        name = Path(path).parent.name
        return (int(name), name) if name.isdigit() else (-1, name)

    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True):
        candidates.append(Path(directory))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


@dataclass
class PostgresServer:
    """A running throwaway server; ``create_database()`` hands out fresh databases."""

    bin_dir: Path
    base_dir: Path
    port: int
    run_as: str | None
    user: str = "postgres"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        """The server log written by pg_ctl."""
        return self.base_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        )

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (random name unless given) and return its URL."""
        name = name or f"audit_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        with self._admin() as conn:
            if conn.info.server_version >= 150000:
                # With fsync off, copying template files is ~10x faster than the WAL_LOG default.
                statement = sql.SQL("{} STRATEGY FILE_COPY").format(statement)
            conn.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting anyone still using it."""
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and delete its directory."""
        try:
            for mode in ("fast", "immediate"):
                result = _run(
                    [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"],
                    run_as=self.run_as,
                    cwd=self.base_dir,
                    check=False,
                )
                if result.returncode == 0:
                    break
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _run(
    argv: list[str], *, run_as: str | None, cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if run_as is not None:
        if shutil.which("runuser"):
            argv = ["runuser", "-u", run_as, "--", *argv]
        else:
            argv = ["su", run_as, "-s", "/bin/sh", "-c", shlex.join(argv)]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    env.pop("PGDATA", None)
    result = subprocess.run(  # noqa: S603 - fixed argv built from server binaries, no shell
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(argv)} failed with exit code {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def start_postgres() -> PostgresServer:
    """Initialise and start a throwaway server; raises PostgresUnavailable if impossible here."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise PostgresUnavailable("No PostgreSQL server binaries (initdb, pg_ctl) were found.")
    run_as: str | None = None
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as error:
            raise PostgresUnavailable(
                "Running as root, and there is no `postgres` system user to run initdb as."
            ) from error
        run_as = "postgres"

    base_dir = Path(tempfile.mkdtemp(prefix="audit-pg-"))
    try:
        if owner is not None:
            os.chown(base_dir, owner.pw_uid, owner.pw_gid)
        os.chmod(base_dir, 0o700)
        data_dir = base_dir / "data"
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as=run_as,
            cwd=base_dir,
        )
        last_error = ""
        for _ in range(3):  # PostgreSQL takes no port 0: a picked port can be taken before it binds
            server = PostgresServer(bin_dir=bin_dir, base_dir=base_dir, port=free_port(), run_as=run_as)
            options = " ".join(
                [
                    f"-p {server.port}",
                    f"-k {base_dir}",
                    "-c listen_addresses=127.0.0.1",
                    # Throwaway data: trade crash safety of the server for speed.
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            result = _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data_dir),
                    "-l",
                    str(server.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                run_as=run_as,
                cwd=base_dir,
                check=False,
            )
            if result.returncode == 0:
                return server
            last_error = f"{result.stdout}\n{result.stderr}\n{server.log_tail()}"
            if "already in use" not in last_error and "could not bind" not in last_error.lower():
                break
        raise RuntimeError(f"pg_ctl could not start PostgreSQL:\n{last_error}")
    except BaseException:
        shutil.rmtree(base_dir, ignore_errors=True)
        raise
