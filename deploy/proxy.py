"""nginx in front of the app instances: the configuration from `deploy/nginx/cluster.conf.template`, and
the unprivileged nginx process that serves it (`make cluster`, `tests/cluster/`, `bench/cluster.py`).

    conf = render_conf(Path(tmp), listen_port=8500, instances=[("app-1", 8501), ("app-2", 8502)])
    proxy = start_nginx(Path(tmp), conf)  # a devtenant.processes.Child, ready on 127.0.0.1:8500
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from devtenant.processes import Child, ChildFailed

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "cluster.conf.template"
NGINX = Path(os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx")
INSTALL_HINT = "Install it with `apt-get install nginx` (Debian/Ubuntu); only its binary is used."
ROUTE_COOKIE = "stroute"  # the affinity key (hash $cookie_stroute consistent)
SERVER_COOKIE = "stserver"  # the instance that served the last page load (admin_core/ui/handover.py)
SERVER_NAMES = ("localhost", "127.0.0.1")
FAIL_TIMEOUT_S = 10
START_TIMEOUT_S = 15.0

# Every response: no framing by other sites (clickjacking), no MIME sniffing, no referrer to other sites,
# and the name of the instance that answered. add_header in a location replaces the server's, so each
# location gets the whole list.
_HEADERS = """\
add_header Content-Security-Policy "frame-ancestors {ancestors}" always;
add_header X-Frame-Options {frame_options} always;
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy same-origin always;
add_header X-Served-By $served_by always;
add_header Set-Cookie $route_cookie always;"""


_PROXY_HEADERS = """\
proxy_set_header Host $host:$server_port;
proxy_set_header X-Forwarded-Host $host:$server_port;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Forwarded-For $remote_addr;
proxy_set_header X-Real-IP $remote_addr;"""


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


class NginxUnavailable(RuntimeError):
    """No nginx binary here."""


def nginx_available() -> bool:
    return NGINX.is_file() and os.access(NGINX, os.X_OK)


def _headers(ancestors: str, frame_options: str) -> str:
    return _indent(_HEADERS.format(ancestors=ancestors, frame_options=frame_options), 12)


def _worker_user() -> str | None:
    """As root, nginx's workers switch to this user; as anyone else there is nothing to switch."""
    if os.geteuid() != 0:
        return None
    for name in ("www-data", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def render_conf(
    prefix: Path,
    *,
    listen_port: int,
    instances: Sequence[tuple[str, int]],
    host: str = "127.0.0.1",
    server_names: Sequence[str] = SERVER_NAMES,
) -> str:
    """The nginx configuration for `instances` (name, port) on `host`, listening on `host:listen_port`."""
    user = _worker_user()
    served_by = "\n".join(
        f"        ~{host.replace('.', chr(92) + '.')}:{port}$ {name};" for name, port in instances
    )
    servers = "\n".join(
        f"        server {host}:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s;" for _, port in instances
    )
    values = {
        "@USER@": f"user {user};" if user else "# (not root: the workers run as this user)",
        "@PREFIX@": str(prefix),
        "@LISTEN@": f"{host}:{listen_port}",
        "@SERVER_NAMES@": " ".join(server_names),
        "@ROUTE_COOKIE@": ROUTE_COOKIE,
        "@SERVER_COOKIE@": SERVER_COOKIE,
        "@SERVED_BY@": served_by,
        "@SERVERS@": servers,
        "@PROXY_HEADERS@": _indent(_PROXY_HEADERS, 8),
        "@PROXY_HEADERS_WS@": _indent(_PROXY_HEADERS, 12),
        "@HEADERS_NONE@": _headers("'none'", "DENY"),
        "@HEADERS_SELF@": _headers("'self'", "SAMEORIGIN"),
    }
    text = TEMPLATE.read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    if "@" in "".join(line.split("#", 1)[0] for line in text.splitlines()):
        raise ValueError("a placeholder of the nginx template was left unfilled")
    return text


def _prepare(prefix: Path) -> None:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / name).mkdir(parents=True, exist_ok=True)
    user = _worker_user()
    if user:  # the workers write buffered bodies there
        entry = pwd.getpwnam(user)
        for path in [prefix / "tmp", *(prefix / "tmp").iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)


def check_conf(prefix: Path, conf: str) -> None:
    """`nginx -t` on `conf`; raises ChildFailed with nginx's words when it refuses it."""
    path = _write(prefix, conf)
    child = Child([str(NGINX), "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(path)],
                  name="nginx -t")  # fmt: skip
    try:
        child.proc.wait(timeout=START_TIMEOUT_S)
        if child.proc.returncode != 0:
            raise ChildFailed(f"nginx refused its configuration:\n{child.output()}")
    finally:
        child.stop()


def _write(prefix: Path, conf: str) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    _prepare(prefix)
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


def start_nginx(prefix: Path, conf: str, *, listen_port: int, host: str = "127.0.0.1") -> Child:
    """nginx in the foreground (`daemon off`) on `conf`, listening; its output goes to prefix/nginx.out."""
    if not nginx_available():
        raise NginxUnavailable(f"There is no nginx at {NGINX}. {INSTALL_HINT}")
    path = _write(prefix, conf)
    child = Child(
        [str(NGINX), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(path)],
        name="nginx",
        log_path=prefix / "nginx.out",
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if not child.alive:
            text = child.output() + _read(prefix / "error.log")
            child.stop()
            raise ChildFailed(f"nginx exited with {child.proc.returncode} during start-up:\n{text}")
        try:
            with socket.create_connection((host, listen_port), timeout=0.5):
                return child
        except OSError:
            if time.monotonic() > deadline:
                child.stop()
                raise ChildFailed(
                    f"nginx did not listen on {host}:{listen_port} within {START_TIMEOUT_S:.0f} s"
                ) from None
            time.sleep(0.05)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
