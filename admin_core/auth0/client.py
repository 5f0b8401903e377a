"""The Management API client: the SDK object, its client-credentials token, and pacing from rate headers.

The SDK gets its own `httpx.Client` (the public `httpx_client=` argument) with a response hook, so every
answer's `x-ratelimit-*` headers reach the `RateLimitGate` without touching the SDK's internals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0

from admin_core.auth0.errors import token_error, token_unreachable
from admin_core.errors import RateLimited, Unreachable


def management_api(
    *,
    api_url: str,
    token: Callable[[], str],
    timeout: float,
    max_retries: int,
    on_response: Callable[[httpx.Response], None],
) -> Auth0:
    """The SDK client for `api_url`; `on_response` sees every response, retries included."""
    # What the SDK would build itself (same timeout, redirects followed), plus the response hook.
    http = httpx.Client(timeout=timeout, follow_redirects=True, event_hooks={"response": [on_response]})
    return Auth0(base_url=api_url, token=token, timeout=timeout, max_retries=max_retries, httpx_client=http)


class ClientCredentialsToken:
    """Thread-safe Management API token: fetched once, reused until shortly before it expires."""

    def __init__(self, *, base_url: str, client_id: str, client_secret: str, audience: str, timeout: float):
        parts = urlsplit(base_url)
        self._client = GetToken(
            parts.netloc, client_id, client_secret, protocol=parts.scheme, timeout=timeout
        )
        self._client_id = client_id
        self._audience = audience
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._refresh_at:
                self._token, self._refresh_at = self._fetch()
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (after Auth0 answered 401 to it) so the next call fetches a fresh one."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        started = time.monotonic()
        try:
            answer = self._client.client_credentials(self._audience)
        except Auth0Error as exc:
            raise token_error(exc, client_id=self._client_id, audience=self._audience) from None
        except Exception as exc:  # requests' connection errors, timeouts, bad JSON
            raise token_unreachable(exc) from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise Unreachable("Auth0 answered the token request without a token. Try again in a moment.")
        lifetime = float(answer.get("expires_in") or 86400)
        # Refresh a little early, never more than a tenth of the lifetime (short test tokens stay useful).
        margin = min(60.0, lifetime / 10)
        return token, started + lifetime - margin


class RateLimitGate:
    """Client-side pacing from Auth0's `x-ratelimit-limit/-remaining/-reset` headers.

    A request may start while the last reported `remaining` exceeds the requests of ours in flight;
    once it is used up, callers wait for `reset` (Unix seconds), when the window is full again.
    Before any header is seen, one request at a time. Waits longer than `max_wait` raise RateLimited.
    """

    def __init__(self, *, max_wait: float = 60.0):
        self._cond = threading.Condition()
        self.max_wait = max_wait
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at = 0.0
        self.inflight = 0
        self._refilled = False  # `remaining` was refilled locally after `reset_at` passed

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            if response.status_code == 429:
                self.penalize(None)
            return
        try:
            limit = int(headers.get("x-ratelimit-limit", ""))
        except ValueError:
            limit = None
        if response.status_code == 429:
            remaining = 0
        with self._cond:
            if limit:
                self.limit = limit
            # answers arrive out of order: keep the latest window, and the lowest count within it
            if self.remaining is None or reset_at > self.reset_at:
                self.remaining, self.reset_at, self._refilled = remaining, reset_at, False
            elif reset_at == self.reset_at and remaining < self.remaining:
                self.remaining, self._refilled = remaining, False
            elif remaining == 0 and not self._refilled:
                self.remaining = 0  # a 429 naming an earlier reset: keep the later (safer) one
            self._cond.notify_all()

    def penalize(self, retry_at: float | None) -> None:
        """A 429 arrived: nothing is left until `retry_at` (at least half a second from now)."""
        with self._cond:
            self.remaining = 0
            self.reset_at = max(self.reset_at, retry_at or 0.0, time.time() + 0.5)
            self._refilled = False
            self._cond.notify_all()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.max_wait
        with self._cond:
            while True:
                now = time.time()
                used_up = self.remaining is not None and self.remaining - self.inflight <= 0
                if used_up and not self._refilled and now >= self.reset_at:
                    # the window has been reset: the whole limit is available again, once
                    self.remaining, self._refilled = self.limit or 1, True
                    used_up = self.remaining - self.inflight <= 0
                allowed = (1 if self.remaining is None else self.remaining) - self.inflight
                if allowed > 0:
                    self.inflight += 1
                    return
                if used_up and self.inflight == 0 and not self._refilled:
                    wait = self.reset_at - now + 0.05  # small margin: reset has one-second resolution
                else:
                    wait = 0.25  # a request of ours is in flight: its answer will tell more
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RateLimited.from_reset(str(self.reset_at))
                self._cond.wait(max(0.01, min(wait, left)))

    def release(self) -> None:
        with self._cond:
            self.inflight = max(0, self.inflight - 1)
            self._cond.notify_all()
