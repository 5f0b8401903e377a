"""Management API v2 user exports: ``POST /jobs/users-exports``, ``GET /jobs/{id}``, and the file download.

As Auth0 documents it (the OpenAPI document and "Bulk user exports"): a job is created ``pending``, turns
``processing`` (with ``percentage_done`` and ``time_left_seconds``) for a time proportional to the users it
exports, then ``completed`` with a ``location``: a signed, short-lived link to a gzip file (CSV, or JSON
lines) named after the tenant. Each ``GET /jobs/{id}`` of a completed job signs a fresh link; the link
itself expires after ``link_ttl_seconds`` (Auth0: 60 s) and the job after ``job_ttl_seconds`` (Auth0:
24 h). The file is written to disk in a thread from a snapshot of the users taken at creation, and served
from disk in chunks.

Test controls (loopback only): ``GET /__dev/exports`` lists the jobs; ``PUT /__dev/exports`` with any of
``{"users_per_second": 5000, "link_ttl_seconds": 60, "job_ttl_seconds": 86400, "fail_next": "why"}``
changes the speed, the lifetimes, or makes the next job fail. A ``/__dev/reset`` puts the defaults back.
"""

from __future__ import annotations

import atexit
import csv
import gzip
import hashlib
import hmac
import json
import re
import secrets
import shutil
import string
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from devtenant.errors import api_error, api_error_body
from devtenant.management import Denied
from devtenant.people import iso_ms
from devtenant.support_api import _body, _payload_error

if TYPE_CHECKING:
    from devtenant.tenant import Tenant

TENANT_NAME = "devtenant"  # Auth0 names the file after the tenant (auth0docs.csv.gz)
CONNECTION_ID = re.compile(r"^con_[A-Za-z0-9]{16}$")
EXPORT_FIELDS = {"connection_id": str, "format": str, "limit": int, "fields": list}
MAX_FIELDS = 30  # "You can export up to 30 fields" (Auth0's bulk user exports page)
NAME_MAX = 100
PENDING_SECONDS = 0.3
# Auth0's default set when a job names no fields (a guess at its exact list; the docs say "predefined").
DEFAULT_FIELDS = ("user_id", "email", "email_verified", "name", "nickname", "created_at", "updated_at")
NO_CONNECTION = "The connection does not exist."
NO_JOB = "The job does not exist."  # a guess at Auth0's words for an unknown or expired job
# CloudFront's answer to a signed link that has expired or was tampered with.
ACCESS_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    "<Message>Access denied</Message></Error>"
)


@dataclass
class ExportSettings:
    users_per_second: float = 5000.0
    link_ttl_seconds: float = 60.0
    job_ttl_seconds: float = 86400.0
    fail_next: str | None = None


@dataclass
class ExportJob:
    id: str
    created: float  # time.time()
    duration: float  # seconds of "processing"
    body: dict  # what the POST answered (id, type, status, connection_id, connection, format, ...)
    path: Path
    rows: int = 0
    written: threading.Event = field(default_factory=threading.Event)
    failed: str | None = None

    def status(self, now: float) -> str:
        if now < self.created + PENDING_SECONDS:
            return "pending"
        if now < self.created + PENDING_SECONDS + self.duration or not self.written.is_set():
            return "processing"
        return "failed" if self.failed else "completed"


class Exports:
    """The tenant's export jobs and their files (a temporary directory, removed at exit)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, ExportJob] = {}
        self.settings = ExportSettings()
        self.secret = secrets.token_bytes(32)
        self.directory = Path(tempfile.mkdtemp(prefix="devtenant-exports-"))
        atexit.register(shutil.rmtree, self.directory, True)
        self.generation: object = None  # the tenant's stats object when last seen: a reset replaces it

    def expire(self, now: float) -> None:
        with self.lock:
            gone = [j for j in self.jobs.values() if now >= j.created + self.settings.job_ttl_seconds]
            for job in gone:
                del self.jobs[job.id]
        for job in gone:
            job.path.unlink(missing_ok=True)

    def sign(self, path: str, expires: int) -> str:
        return hmac.new(self.secret, f"{path}?{expires}".encode(), hashlib.sha256).hexdigest()


def exports_of(tenant: Tenant) -> Exports:
    """The tenant's exports; a `/__dev/reset` (a new stats object) puts the settings back to the defaults."""
    with tenant.lock:
        exports: Exports | None = getattr(tenant, "_exports", None)
        if exports is None:
            exports = Exports()
            tenant._exports = exports  # type: ignore[attr-defined]
        if exports.generation is not tenant.stats:
            exports.generation = tenant.stats
            exports.settings = ExportSettings()
    return exports


_INDEX = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")


def field_value(user: dict, name: str) -> Any:
    """The value at a profile path such as ``email``, ``user_metadata.country`` or
    ``identities[0].connection`` (None when any step is missing)."""
    value: Any = user
    for part in name.split("."):
        match = _INDEX.match(part)
        if match is None or not isinstance(value, dict):
            return None
        value = value.get(match["key"])
        if match["index"] is not None:
            index = int(match["index"])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        if value is None:
            return None
    return value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def in_connection(user: dict, connection: str) -> bool:
    return any(i.get("connection") == connection for i in user.get("identities") or () if isinstance(i, dict))


def write_file(job: ExportJob, users: list[dict], fields: list[dict], fmt: str) -> None:
    """The export file, gzip'd, one row (or JSON line) at a time; `job.rows` counts them."""
    try:
        columns = [f.get("export_as") or f["name"] for f in fields]
        with gzip.open(job.path, "wt", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
            if writer is not None:
                writer.writerow(columns)
            for user in users:
                values = [field_value(user, f["name"]) for f in fields]
                if writer is not None:
                    writer.writerow([csv_cell(v) for v in values])
                else:
                    row = {c: v for c, v in zip(columns, values, strict=True) if v is not None}
                    out.write(json.dumps(row, separators=(",", ":")) + "\n")
                job.rows += 1
    except Exception as exc:  # a full disk, say: the job fails as Auth0's would
        job.failed = f"The export file could not be written: {exc}"
    finally:
        job.written.set()


def _check_fields(raw: list) -> list[dict]:
    if len(raw) > MAX_FIELDS:
        # a guess at Auth0's words for the documented limit of 30 fields
        raise Denied(_payload_error(f"Array is too long ({len(raw)}), maximum {MAX_FIELDS}", "fields"))
    out = []
    for i, item in enumerate(raw):
        where = f"fields[{i}]"
        if not isinstance(item, dict):
            raise Denied(_payload_error("Expected type object but found type " + type(item).__name__, where))
        for key in item:
            if key not in ("name", "export_as"):
                raise Denied(_payload_error(f"Additional properties not allowed: {key}", where))
        if "name" not in item:
            raise Denied(_payload_error("Missing required property: name", where))
        for key in ("name", "export_as"):
            if key in item:
                value = item[key]
                if not isinstance(value, str):
                    raise Denied(_payload_error("Expected type string", f"{where}.{key}"))
                if len(value) > NAME_MAX:
                    raise Denied(
                        _payload_error(f"String is too long ({len(value)} chars), maximum {NAME_MAX}", where)
                    )
        out.append({k: item[k] for k in ("name", "export_as") if k in item})
    return out


def routes(tenant: Tenant, guarded: Callable) -> list[Route]:
    def job_id() -> str:
        alnum = string.ascii_letters + string.digits
        return "job_" + "".join(secrets.choice(alnum) for _ in range(16))

    @guarded("POST /jobs/users-exports")
    async def create(request: Request) -> Response:
        body = await _body(request, EXPORT_FIELDS)
        fmt = body.get("format", "json")  # Auth0's default format
        if fmt not in ("json", "csv"):
            return _payload_error(f"No enum match for: {fmt}", "format")
        limit = body.get("limit")
        if limit is not None and limit < 1:
            return _payload_error(f"Value {limit} is less than minimum 1", "limit")
        fields = (
            _check_fields(body["fields"]) if body.get("fields") else [{"name": n} for n in DEFAULT_FIELDS]
        )
        connection = None
        if "connection_id" in body:
            cid = body["connection_id"]
            if not CONNECTION_ID.match(cid):
                return _payload_error(
                    f"String does not match pattern ^con_[A-Za-z0-9]{{16}}$: {cid}", "connection_id"
                )
            connection = next((c for c in tenant.connections if c["id"] == cid), None)
            if connection is None:
                return api_error(400, NO_CONNECTION, "inexistent_connection")
        exports = exports_of(tenant)
        now = time.time()
        exports.expire(now)
        users = tenant.store.all_users()
        if connection is not None:
            users = [u for u in users if in_connection(u, connection["name"])]
        if limit is not None:
            users = users[:limit]
        settings = exports.settings
        new_id = job_id()
        answer: dict[str, Any] = {
            "type": "users_export",
            "status": "pending",
            "format": fmt,
            "fields": fields,
            "created_at": iso_ms(int(now * 1000)),
            "id": new_id,
        }
        if limit is not None:
            answer["limit"] = limit
        if connection is not None:
            answer["connection_id"] = connection["id"]
        # Auth0 names the connection in the answer; "all connections" for a tenant-wide export is a guess.
        answer["connection"] = connection["name"] if connection is not None else "all connections"
        job = ExportJob(
            id=new_id,
            created=now,
            duration=len(users) / max(1.0, settings.users_per_second),
            body=dict(answer),
            path=exports.directory / f"{new_id}.{fmt}.gz",
        )
        with exports.lock:
            if settings.fail_next:
                job.failed, settings.fail_next = settings.fail_next, None
            exports.jobs[new_id] = job
        threading.Thread(
            target=write_file, args=(job, users, fields, fmt), name=f"export-{new_id}", daemon=True
        ).start()
        return JSONResponse(answer, status_code=200)  # the OAS lists 200 ("Job created successfully.")

    @guarded("GET /jobs/{id}")
    async def get_job(request: Request) -> Response:
        exports = exports_of(tenant)
        now = time.time()
        exports.expire(now)
        with exports.lock:
            job = exports.jobs.get(request.path_params["id"])
        if job is None:
            return api_error(404, NO_JOB, "inexistent_job")
        status = job.status(now)
        answer = {**job.body, "status": status}
        if status == "processing":
            elapsed = now - job.created - PENDING_SECONDS
            done = min(0.99, elapsed / job.duration) if job.duration > 0 else 0.99
            answer["percentage_done"] = int(done * 100)
            answer["time_left_seconds"] = max(0, int(job.duration - elapsed + 0.999))
        elif status == "completed":
            expires = int(now + exports.settings.link_ttl_seconds)
            path = f"/user-exports/{job.id}/{TENANT_NAME}.{job.body['format']}.gz"
            answer["location"] = (
                f"{tenant.base_url}{path}?Expires={expires}&Signature={exports.sign(path, expires)}"
            )
            answer["summary"] = {"total": job.rows}
        elif status == "failed":
            answer["status_details"] = job.failed
        return JSONResponse(answer)

    return [
        Route("/api/v2/jobs/users-exports", create, methods=["POST"]),
        Route("/api/v2/jobs/{id}", get_job, methods=["GET"]),
    ]


def dev_routes(tenant: Tenant) -> list[Route]:
    """The download at ``location`` (outside the Management API: no token, the signature is the key),
    and the test controls ``GET|PUT /__dev/exports``."""

    async def download(request: Request) -> Response:
        exports = exports_of(tenant)
        path = request.url.path
        try:
            expires = int(request.query_params.get("Expires", ""))
        except ValueError:
            expires = 0
        given = request.query_params.get("Signature", "")
        if time.time() >= expires or not hmac.compare_digest(given, exports.sign(path, expires)):
            return Response(ACCESS_DENIED, status_code=403, media_type="text/xml")
        with exports.lock:
            job = exports.jobs.get(request.path_params["job"])
        if job is None or not job.written.is_set() or job.failed or not job.path.exists():
            return Response(ACCESS_DENIED, status_code=403, media_type="text/xml")
        return FileResponse(job.path, media_type="application/gzip", filename=request.path_params["file"])

    async def control(request: Request) -> Response:
        exports = exports_of(tenant)
        if request.method == "PUT":
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                body = None
            allowed = {"users_per_second", "link_ttl_seconds", "job_ttl_seconds", "fail_next"}
            if not isinstance(body, dict) or not set(body) <= allowed:
                return JSONResponse(
                    api_error_body(400, f"the body is an object with any of {sorted(allowed)}"),
                    status_code=400,
                )
            for key, value in body.items():
                setattr(exports.settings, key, value if key == "fail_next" else float(value))
        with exports.lock:
            jobs = [
                {
                    "id": j.id,
                    "status": j.status(time.time()),
                    "format": j.body["format"],
                    "connection": j.body.get("connection"),
                    "rows": j.rows,
                    "bytes": j.path.stat().st_size if j.path.exists() else 0,
                }
                for j in exports.jobs.values()
            ]
        settings = exports.settings
        return JSONResponse({"settings": settings.__dict__, "jobs": jobs})

    return [
        Route("/user-exports/{job}/{file}", download, methods=["GET"]),
        Route("/__dev/exports", control, methods=["GET", "PUT"]),
    ]
