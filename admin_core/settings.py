"""The app's settings: one typed object, built once from the environment and `.env`.

Nothing else in `admin_core` reads `os.environ`. Every problem is collected and reported
together, naming the variable and what to put there, so a person fixes `.env` in one pass.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from dotenv import dotenv_values

from admin_core.errors import AppError

# Values people leave in place when they copy .env.example without filling it in. Matched against the
# whole value, so a real random secret that happens to contain "xxx" is never taken for one.
PLACEHOLDER = re.compile(r"(your[-_].*|<.*>|\.\.\.|change[-_]?me|x{3,}|todo|placeholder)", re.IGNORECASE)

STREAMLIT_OAUTH_CALLBACK_PATH = "/component/streamlit_oauth.authorize_button/index.html"

# Where profile pictures usually live: Gravatar, Google, GitHub and Facebook sign-ins, Auth0's default
# avatars. The tenant's own domain is added to whatever AVATAR_HOSTS says.
DEFAULT_AVATAR_HOSTS = (
    "s.gravatar.com",
    "secure.gravatar.com",
    "www.gravatar.com",
    "gravatar.com",
    "*.googleusercontent.com",
    "avatars.githubusercontent.com",
    "platform-lookaside.fbsbx.com",
    "cdn.auth0.com",
)
_HOST_ENTRY = re.compile(r"(\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SettingSpec:
    """One documented setting: its name, default (None = required) and meaning."""

    name: str
    default: str | None
    help: str
    secret: bool = False


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "AUTH0_DOMAIN",
        None,
        "Your Auth0 tenant domain, e.g. `your-tenant.eu.auth0.com` (a pasted issuer URL such as "
        "`https://your-tenant.eu.auth0.com/` is accepted). For the local dev tenant: `http://127.0.0.1:8600`.",
    ),
    SettingSpec(
        "AUTH0_CLIENT_ID",
        None,
        "Client ID of the Auth0 application people sign in with (Regular Web Application).",
    ),
    SettingSpec(
        "AUTH0_CLIENT_SECRET",
        None,
        "Client secret of that application (Settings > Basic Information).",
        secret=True,
    ),
    SettingSpec(
        "AUTH0_MGMT_CLIENT_ID",
        "",
        "Client ID used for the Management API (client credentials). Empty: the sign-in application's.",
    ),
    SettingSpec(
        "AUTH0_MGMT_CLIENT_SECRET",
        "",
        "Client secret for the Management API client. Empty: the sign-in application's.",
        secret=True,
    ),
    SettingSpec(
        "APP_URL",
        "http://localhost:8501",
        "The app's public base URL. The sign-in callback (`<APP_URL>" + STREAMLIT_OAUTH_CALLBACK_PATH + "`) "
        "and the logout return URL derive from it.",
    ),
    SettingSpec("ADMIN_ROLE", "User Admin", "Auth0 role whose holders may change users."),
    SettingSpec("VIEWER_ROLE", "User Viewer", "Auth0 role whose holders may look but not change."),
    SettingSpec(
        "AUDIT_DATABASE_URL",
        "",
        "SQLAlchemy URL of the audit log. Empty: a SQLite file `audit.sqlite3` in DATA_DIR. For several "
        "instances use PostgreSQL: `postgresql+psycopg://user:password@host/dbname`.",
        secret=True,
    ),
    SettingSpec("DATA_DIR", "data", "Directory for local data (the default SQLite audit log)."),
    SettingSpec(
        "AUTH0_TIMEOUT_SECONDS",
        "10",
        "Timeout for each request to Auth0, in seconds.",
    ),
    SettingSpec(
        "AUTH0_MAX_RETRIES",
        "2",
        "How often the Management API SDK retries a rate-limited (429) or failed (5xx) request.",
    ),
    SettingSpec(
        "SESSION_MAX_HOURS",
        "8",
        "Longest a sign-in lasts, in hours, however active the person is (the ID token may allow longer). "
        "Then the app asks to sign in again.",
    ),
    SettingSpec(
        "SESSION_IDLE_MINUTES",
        "30",
        "A session with no activity for this many minutes is signed out.",
    ),
    SettingSpec(
        "AVATAR_HOSTS",
        ",".join(DEFAULT_AVATAR_HOSTS),
        "Comma-separated hosts whose profile pictures the browser may load (`host`, `host:port`, or "
        "`*.domain` for its subdomains); the tenant's own domain is always allowed, `none` allows only it. "
        "Any other picture shows the person's initials, so a profile cannot make an admin's browser call a "
        "server of its choosing. Pictures are never fetched by the server.",
    ),
    SettingSpec(
        "TRUST_PROXY_HEADERS",
        "false",
        "`true` only when a reverse proxy in front of the app sets `X-Forwarded-Host` (and strips any sent "
        "by the browser): sign-in then follows the host the proxy reports. `false`: the `Host` header only.",
    ),
    SettingSpec(
        "DELETED_PROFILE_DAYS",
        "30",
        "Days a deleted person's profile (email, name, metadata, roles) is kept in the audit database so an "
        "admin can re-create them from the Audit page; older copies are purged. `0` keeps nothing.",
    ),
    SettingSpec(
        "CHANGE_CLAIM_SECONDS",
        "120",
        "Longest a change holds its claim on a person (one change at a time per person, across every instance "
        "sharing the audit database); a claim left by an instance that died mid-change ends after this. "
        "Longer than the slowest change: AUTH0_TIMEOUT_SECONDS x (AUTH0_MAX_RETRIES + 1) x 3.",
    ),
    SettingSpec(
        "SHUTDOWN_DRAIN_SECONDS",
        "20",
        "On SIGTERM the instance fails its health check, refuses new changes and waits at most this long for "
        "the running ones, then stops. Keep it under the orchestrator's grace period (Kubernetes: "
        "terminationGracePeriodSeconds, 30 by default).",
    ),
)


class SettingsError(AppError):
    """The settings cannot be used; `problems` names each bad variable and what to put there."""

    def __init__(self, problems: list[str], *, nothing_configured: bool = False):
        self.problems = problems
        # True when not a single required Auth0 setting was given: a newcomer, not a typo.
        self.nothing_configured = nothing_configured
        # Not AppError.__init__: `message` is built from `problems`; str() stays the short list.
        Exception.__init__(self, "; ".join(problems))
        lines = "\n".join(f"- {p}" for p in problems)
        self.message = (
            f"The app is not configured yet. Fix these settings in `.env` (see `.env.example`):\n\n{lines}"
        )


@dataclass(frozen=True)
class Settings:
    """Validated settings. `auth0_url` is the tenant's base URL without trailing slash."""

    auth0_url: str
    client_id: str
    client_secret: str = field(repr=False)
    mgmt_client_id: str
    mgmt_client_secret: str = field(repr=False)
    app_url: str
    admin_role: str
    viewer_role: str
    audit_database_url: str = field(repr=False)
    data_dir: Path
    timeout_seconds: float
    max_retries: int
    session_max_hours: float = 8.0
    session_idle_minutes: float = 30.0
    # Lower-case `host`, `host:port` or `*.domain` entries, the tenant's own host[:port] among them.
    avatar_hosts: tuple[str, ...] = ()
    trust_proxy_headers: bool = False
    deleted_profile_days: int = 30
    change_claim_seconds: float = 120.0
    shutdown_drain_seconds: float = 20.0

    @property
    def issuer(self) -> str:
        """The ID token issuer Auth0 uses: the base URL with a trailing slash."""
        return self.auth0_url + "/"

    @property
    def authorize_endpoint(self) -> str:
        return self.auth0_url + "/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.auth0_url + "/oauth/token"

    @property
    def jwks_url(self) -> str:
        return self.auth0_url + "/.well-known/jwks.json"

    @property
    def management_api_url(self) -> str:
        return self.auth0_url + "/api/v2"

    @property
    def management_audience(self) -> str:
        return self.auth0_url + "/api/v2/"

    @property
    def redirect_uri(self) -> str:
        return self.app_url + STREAMLIT_OAUTH_CALLBACK_PATH

    @property
    def is_dev_tenant(self) -> bool:
        """Plain http is only ever allowed on loopback, which only the local dev tenant uses."""
        return urlsplit(self.auth0_url).scheme == "http"

    def logout_url(self) -> str:
        query = urlencode({"client_id": self.client_id, "returnTo": self.app_url})
        return f"{self.auth0_url}/v2/logout?{query}"


def is_loopback(host: str | None) -> bool:
    """This machine: `localhost` or a loopback address (`127.0.0.1`, `::1`, `[::1]` as in a URL's netloc).
    The one check for both plain-http Auth0 URLs and sign-in's callback host."""
    if not host:
        return False
    host = host.lower()
    if host == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_sqlite_url(data_dir: str | os.PathLike[str]) -> str:
    """SQLAlchemy URL of the default audit file ``<data_dir>/audit.sqlite3`` (AUDIT_DATABASE_URL empty)."""
    return f"sqlite:///{Path(data_dir) / 'audit.sqlite3'}"


def _looks_like_placeholder(value: str) -> bool:
    return PLACEHOLDER.fullmatch(value.strip()) is not None


def normalize_domain(raw: str) -> str:
    """Turn `tenant.eu.auth0.com`, `https://tenant.eu.auth0.com/` or `http://127.0.0.1:8600` into a base URL.

    Raises ValueError with a person-readable reason.
    """
    value = raw.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"it must be a host name or an https:// URL, not {parts.scheme}://")
    if not parts.hostname:
        raise ValueError("it has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("it must be just the domain, without a path (e.g. your-tenant.eu.auth0.com)")
    if parts.username or parts.password:
        raise ValueError("it must not contain a user name or password")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            "plain http is refused for anything but this machine (127.0.0.1/localhost); use https"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _normalize_app_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("it must be a full URL such as http://localhost:8501 or https://admin.example.com")
    if parts.query or parts.fragment:
        raise ValueError("it must not carry a query or fragment")
    return value


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | os.PathLike | None = ".env"
) -> Settings:
    """Build the settings from `.env` overlaid by the environment (the environment wins)."""
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(spec: SettingSpec) -> str:
        return (values.get(spec.name) or "").strip() or (spec.default or "")

    specs = {spec.name: spec for spec in SETTINGS}
    problems: list[str] = []
    required = [name for name, spec in specs.items() if spec.default is None]
    given_any = any((values.get(name) or "").strip() for name in required)

    for name in required:
        value = get(specs[name])
        if not value:
            problems.append(f"{name} is missing: {specs[name].help}")
        elif _looks_like_placeholder(value):
            problems.append(f"{name} still holds the placeholder {value!r}: {specs[name].help}")

    auth0_url = ""
    domain = get(specs["AUTH0_DOMAIN"])
    if domain and not _looks_like_placeholder(domain):
        try:
            auth0_url = normalize_domain(domain)
        except ValueError as exc:
            problems.append(f"AUTH0_DOMAIN {domain!r} is not usable: {exc}.")

    app_url = ""
    try:
        app_url = _normalize_app_url(get(specs["APP_URL"]))
    except ValueError as exc:
        problems.append(f"APP_URL {get(specs['APP_URL'])!r} is not usable: {exc}.")

    numbers: dict[str, float] = {}
    for name, kind, low in (("AUTH0_TIMEOUT_SECONDS", float, 0.1), ("AUTH0_MAX_RETRIES", int, 0)):
        raw = get(specs[name])
        try:
            numbers[name] = kind(raw)
            if numbers[name] < low:
                raise ValueError
        except ValueError:
            problems.append(f"{name} {raw!r} is not usable: give a number of at least {low}.")

    for name, unit in (("SESSION_MAX_HOURS", "hours"), ("SESSION_IDLE_MINUTES", "minutes")):
        raw = get(specs[name])
        try:
            numbers[name] = float(raw)
            if not 0 < numbers[name] < float("inf"):
                raise ValueError
        except ValueError:
            problems.append(
                f"{name} {raw!r} is not usable: give a number of {unit} greater than 0, e.g. {specs[name].default}."
            )
    avatar_hosts: list[str] = []
    raw_hosts = get(specs["AVATAR_HOSTS"])
    if raw_hosts.strip().lower() != "none":
        for entry in (e.strip().lower() for e in raw_hosts.split(",")):
            if not entry:
                continue
            if _HOST_ENTRY.fullmatch(entry):
                avatar_hosts.append(entry)
            else:
                problems.append(
                    f"AVATAR_HOSTS entry {entry!r} is not usable: give host names such as s.gravatar.com, "
                    "host:port, or *.googleusercontent.com, separated by commas (no scheme, no path)."
                )
    if auth0_url:
        avatar_hosts.append(urlsplit(auth0_url).netloc)

    trust_raw = get(specs["TRUST_PROXY_HEADERS"]).lower()
    if trust_raw not in _TRUE + _FALSE:
        problems.append(f"TRUST_PROXY_HEADERS {trust_raw!r} is not usable: give true or false.")

    for name in ("ADMIN_ROLE", "VIEWER_ROLE"):
        if not get(specs[name]):
            problems.append(f"{name} is empty: {specs[name].help}")

    deleted_raw = get(specs["DELETED_PROFILE_DAYS"])
    try:
        deleted_days = int(deleted_raw)
        if not 0 <= deleted_days <= 36_500:
            raise ValueError
    except ValueError:
        deleted_days = 0
        problems.append(
            f"DELETED_PROFILE_DAYS {deleted_raw!r} is not usable: give a whole number of days, 0 to keep "
            "nothing, e.g. 30."
        )

    for name, low, high in (("CHANGE_CLAIM_SECONDS", 5, 86_400), ("SHUTDOWN_DRAIN_SECONDS", 0, 3_600)):
        raw = get(specs[name])
        try:
            numbers[name] = float(raw)
            if not low <= numbers[name] <= high:
                raise ValueError
        except ValueError:
            numbers[name] = float(specs[name].default or 0)
            problems.append(
                f"{name} {raw!r} is not usable: give a number of seconds from {low} to {high}, "
                f"e.g. {specs[name].default}."
            )

    if problems:
        raise SettingsError(problems, nothing_configured=not given_any)

    data_dir = Path(get(specs["DATA_DIR"]))
    client_id = get(specs["AUTH0_CLIENT_ID"])
    client_secret = get(specs["AUTH0_CLIENT_SECRET"])
    return Settings(
        auth0_url=auth0_url,
        client_id=client_id,
        client_secret=client_secret,
        mgmt_client_id=get(specs["AUTH0_MGMT_CLIENT_ID"]) or client_id,
        mgmt_client_secret=get(specs["AUTH0_MGMT_CLIENT_SECRET"]) or client_secret,
        app_url=app_url,
        admin_role=get(specs["ADMIN_ROLE"]),
        viewer_role=get(specs["VIEWER_ROLE"]),
        audit_database_url=get(specs["AUDIT_DATABASE_URL"]) or default_sqlite_url(data_dir),
        data_dir=data_dir,
        timeout_seconds=numbers["AUTH0_TIMEOUT_SECONDS"],
        max_retries=int(numbers["AUTH0_MAX_RETRIES"]),
        session_max_hours=numbers["SESSION_MAX_HOURS"],
        session_idle_minutes=numbers["SESSION_IDLE_MINUTES"],
        avatar_hosts=tuple(dict.fromkeys(avatar_hosts)),
        trust_proxy_headers=trust_raw in _TRUE,
        deleted_profile_days=deleted_days,
        change_claim_seconds=numbers["CHANGE_CLAIM_SECONDS"],
        shutdown_drain_seconds=numbers["SHUTDOWN_DRAIN_SECONDS"],
    )
