"""Auth0's user-export job through auth0-python (`jobs.users_exports.create`, `jobs.get`), and the download
of the job's file.

The Management API calls go through `Directory.call_api` (one client and token, errors translated as for
every other call) and its rate gate (`Directory.paced`). The file at the job's `location` is not a
Management API call: it is a signed link to a file (CloudFront for a real tenant), fetched with httpx,
streamed in chunks, with bounded timeouts and no token. The link is a secret: never logged, not even in an
error's text (httpx puts the URL in some of its messages, so only the error's class is logged).
"""

from __future__ import annotations

import logging
from typing import IO, Any

import httpx
from auth0.management.types import CreateExportUsersFields

from admin_core.auth0.users import Directory
from admin_core.errors import BadQuery, NotAllowed, PermissionDenied, Unreachable, UserGone
from admin_core.exports import CHUNK_BYTES, ExportFailed, ExportField, JobStatus, LinkExpired

log = logging.getLogger(__name__)

# The file can be large (about 3 MB gzip'd per 100,000 users): a generous read timeout per chunk, a short
# connect timeout, and no total limit (the stream moves as long as chunks keep arriving).
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
SCOPE_CONNECTIONS = (
    "Exporting the users of one connection needs the Management API scope read:connections (to find the "
    "connection's id). Add it to the app's grant, or export every user."
)


def job_from_sdk(model: Any) -> JobStatus:
    raw = model.model_dump(mode="json", exclude_none=True, by_alias=True)

    def number(key: str) -> int | None:
        value = raw.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return JobStatus(
        job_id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        percentage_done=number("percentage_done"),
        time_left_seconds=number("time_left_seconds"),
        location=raw.get("location") if isinstance(raw.get("location"), str) else None,
        details=str(raw["status_details"]) if raw.get("status_details") else None,
    )


class ExportDesk:
    """The Auth0 side of an export, on the Directory's Management API client."""

    def __init__(self, *, directory: Directory, timeout: httpx.Timeout = DOWNLOAD_TIMEOUT):
        self._directory = directory
        self._timeout = timeout

    def connection_id(self, name: str) -> str:
        """The id of the connection called `name` (`GET /api/v2/connections?name=`)."""

        def find(api: Any) -> str | None:
            for item in api.connections.list(name=name, fields="id,name", include_fields=True, take=50):
                if item.name == name and item.id:
                    return str(item.id)
            return None

        try:
            found = self._directory.paced(lambda: self._directory.call_api(find))
        except PermissionDenied:
            raise PermissionDenied(SCOPE_CONNECTIONS, scope="read:connections") from None
        if found is None:
            raise NotAllowed(f"Auth0 has no connection called {name}, so its users cannot be exported.")
        return found

    def start(self, *, fields: tuple[ExportField, ...], format: str, connection_id: str | None) -> JobStatus:
        """`POST /api/v2/jobs/users-exports` (scope read:users); `connection_id` None: every user."""
        columns = [CreateExportUsersFields(name=f.name, export_as=f.export_as) for f in fields]
        extra: dict[str, Any] = {"connection_id": connection_id} if connection_id else {}

        def create(api: Any) -> Any:
            return api.jobs.users_exports.create(format=format, fields=columns, **extra)

        try:
            answer = self._directory.paced(lambda: self._directory.call_api(create))
        except BadQuery as exc:  # a 400: Auth0 refused the job itself (unknown connection, fields)
            detail = exc.message.split(": ", 1)[-1]
            raise NotAllowed(f"Auth0 refused the export: {detail}") from None
        return job_from_sdk(answer)

    def job(self, job_id: str) -> JobStatus:
        """`GET /api/v2/jobs/{id}`: its status, progress, and once completed a fresh `location`."""
        try:
            answer = self._directory.paced(lambda: self._directory.call_api(lambda api: api.jobs.get(job_id)))
        except UserGone:  # 404: the job is gone (Auth0 keeps them 24 hours)
            raise ExportFailed("Auth0 no longer knows this export. Start it again.") from None
        return job_from_sdk(answer)

    def download(self, location: str, out: IO[bytes]) -> int:
        """Stream the file at `location` into `out` in chunks, as sent (gzip); returns the bytes written.

        A 403 or 404 is the link refused (expired: Auth0's links last a minute): LinkExpired."""
        written = 0
        try:
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=True, trust_env=False) as http,
                http.stream("GET", location) as response,
            ):
                if response.status_code in (401, 403, 404, 410):
                    raise LinkExpired("Auth0's link to the export file is no longer valid.")
                if response.status_code >= 500:
                    raise Unreachable(
                        f"The server holding Auth0's export file is having trouble (HTTP {response.status_code}). "
                        "Try again in a moment."
                    )
                if response.status_code != 200:
                    raise Unreachable(
                        f"Auth0's export file could not be fetched (HTTP {response.status_code}). Try again."
                    )
                # iter_raw: the bytes as sent, so a gzip file stays gzip even if a proxy labels it encoded
                for chunk in response.iter_raw(CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
        except httpx.TimeoutException:
            raise Unreachable("Auth0's export file did not arrive in time. Try again in a moment.") from None
        except httpx.HTTPError as exc:
            log.warning("export download failed: %s", type(exc).__name__)  # not the message: it names the URL
            raise Unreachable(
                "Auth0's export file could not be fetched. Check the network, then try again."
            ) from None
        return written
