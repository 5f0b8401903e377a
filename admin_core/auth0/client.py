"""The Management API client: the SDK object, its client-credentials token, and pacing from rate headers.

The SDK gets its own `httpx.Client` (the public `httpx_client=` argument) whose transport waits on the
`RateLimitGate` before every request (the SDK's own retries included) and shows it every answer's
`x-ratelimit-*` headers, without touching the SDK's internals.
"""

from __future__ import annotations

import threading
import time
from collections import deque
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
    gate: RateLimitGate,
) -> Auth0:
    """The SDK client for `api_url`; every request waits on `gate` and every answer feeds it."""
    # What the SDK would build itself (same timeout, redirects followed), on a paced transport.
    http = httpx.Client(
        timeout=timeout, follow_redirects=True, transport=PacedTransport(gate, httpx.HTTPTransport())
    )
    return Auth0(base_url=api_url, token=token, timeout=timeout, max_retries=max_retries, httpx_client=http)


class PacedTransport(httpx.BaseTransport):
    """httpx's public transport interface: one gate slot per HTTP request, released when it is answered."""

    def __init__(self, gate: RateLimitGate, inner: httpx.BaseTransport):
        self._gate = gate
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ticket = self._gate.acquire()
        sent_at = time.time()
        try:
            response = self._inner.handle_request(request)
            self._gate.observe(response, sent_at=sent_at, ticket=ticket)
        finally:
            self._gate.release()
        return response

    def close(self) -> None:
        self._inner.close()


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

    Auth0's limits are token buckets: `limit` requests fit in it, `remaining` are left, and at `reset`
    (Unix seconds, rounded up) it is full again. The gate keeps a cautious model of that bucket and lets a
    request start only when the model holds a whole token:
    - after each answer: its `remaining`, less our other requests in flight and the answers that came in
      while it travelled (Auth0 may have counted those after it);
    - between answers: refilled at `rate`, a lower bound of the tenant's refill rate learnt from the answers
      (see `_learn`), and full again at the last answer's `reset`.
    Requests of other app instances on the same tenant show as a lower `remaining`, so instances sharing one
    tenant's limit stay under it together. Before any header is seen, one request at a time. Requests get
    their tokens first come, first served (a bulk job's pool and a person's page alike). Waits longer than
    `max_wait` raise RateLimited.
    """

    HISTORY_SECONDS = 60.0
    MAX_PENALTY = 5.0  # seconds a 429 holds every request back, at most

    def __init__(self, *, max_wait: float = 60.0):
        self._cond = threading.Condition()
        self.max_wait = max_wait
        self.limit: int | None = None
        self.remaining: int | None = None  # the last answer's
        self.reset_at = 0.0
        self.inflight = 0
        self.rate = 0.0  # requests per second the bucket refills at least (0: not learnt yet)
        self.answered = 0  # answers with rate headers, 429s excluded
        self._tokens = 0.0  # the model: tokens surely in the bucket at `_tokens_at`...
        self._tokens_at = 0.0
        self._debt = 0  # ...requests of ours Auth0 may not have counted in the last answer
        self._sent_since = 0  # requests sent since the last answer
        # (sent_at, remaining, answered, other requests in flight) of recent answers, for `_learn`
        self._history: deque[tuple[float, int, int, int]] = deque(maxlen=256)
        self._turns = 0  # requests that asked so far (each one's place in line)
        self._line: deque[int] = deque()  # the places of those waiting, first come first

    def acquire(self) -> int:
        """Wait for a token, in the order requests asked (the one at the head of the line takes the next
        token; the rest wait behind it, so none is starved past `max_wait` while later ones go); returns how
        many answers had come in (pass it to `observe`)."""
        deadline = time.monotonic() + self.max_wait
        with self._cond:
            turn = self._turns
            self._turns += 1
            self._line.append(turn)
            try:
                while True:
                    wait = 0.25  # behind others in line: woken when the one ahead takes its token
                    if self._line[0] == turn:
                        now = time.time()
                        if self.remaining is None:
                            if self.inflight == 0:
                                break
                            # (a request of ours is in flight: its answer will tell more)
                        else:
                            tokens = self._available(now)
                            if tokens >= 1:
                                self._tokens, self._tokens_at = tokens - 1, now
                                self._sent_since += 1
                                break
                            waits = [0.25] if self.inflight else []
                            if self.rate > 0:
                                waits.append((1 - tokens) / self.rate)
                            if now < self.reset_at:
                                waits.append(self.reset_at - now)
                            wait = min(waits or [0.25]) + 0.005
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RateLimited.from_reset(str(self.reset_at))
                    self._cond.wait(max(0.005, min(wait, left)))
            finally:
                self._line.remove(turn)
                self._cond.notify_all()  # the next in line looks at once
            self.inflight += 1
            return self.answered

    def _available(self, now: float) -> float:
        tokens = self._tokens + self.rate * max(0.0, now - self._tokens_at)
        if now >= self.reset_at:  # full again (a limit not told yet: one request, whose answer tells it)
            tokens = max(tokens, float((self.limit or 1) - self._debt - self._sent_since))
        return min(float(self.limit or tokens), tokens)

    def release(self) -> None:
        with self._cond:
            self.inflight = max(0, self.inflight - 1)
            self._cond.notify_all()

    def observe(
        self, response: httpx.Response, *, sent_at: float | None = None, ticket: int | None = None
    ) -> None:
        """Learn from one answer (`sent_at`: when its request left; `ticket`: what `acquire` returned)."""
        headers = response.headers
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            reset_at = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            if response.status_code == 429:
                self.penalize(None, answered=True)
            return
        try:
            limit: int | None = int(headers.get("x-ratelimit-limit", ""))
        except ValueError:
            limit = None
        if response.status_code == 429:
            if limit:
                self.limit = limit
            self.penalize(reset_at, answered=True)
            return
        now = time.time()
        with self._cond:
            if limit:
                self.limit = limit
            self.answered += 1
            others = max(0, self.inflight - 1)  # this answer's request is released after it is observed
            between = 0 if ticket is None else max(0, self.answered - 1 - ticket)
            self._learn(now, sent_at if sent_at is not None else now, remaining, reset_at, others)
            self.remaining, self.reset_at = remaining, reset_at
            self._tokens, self._tokens_at = float(remaining - others - between), now
            self._debt, self._sent_since = others + between, 0
            self._cond.notify_all()

    def _learn(self, now: float, sent_at: float, remaining: int, reset_at: float, others: int) -> None:
        """Raise `rate` to what this answer proves the bucket refills at, at least.

        Alone: the bucket gains `limit - remaining - 1` (remaining is rounded down) before `reset`, counted
        from when the request left (Auth0 counted it later). Against an earlier answer `a`: the bucket
        gained `remaining - remaining_a - 1` plus every answer since (each took a token), less the requests
        in flight at `a` (Auth0 may have counted them before `a`), in at most `now - sent_a` seconds."""
        limit = self.limit
        best = self.rate
        if limit and reset_at > sent_at:
            best = max(best, (limit - remaining - 1) / (reset_at - sent_at))
        while self._history and now - self._history[0][0] > self.HISTORY_SECONDS:
            self._history.popleft()
        if limit is None or remaining < max(2, limit // 2):  # a nearly full bucket proves nothing
            for sent_a, remaining_a, answered_a, others_a in self._history:
                gained = remaining - remaining_a - 1 + (self.answered - answered_a) - others_a
                if gained > 0 and now > sent_a:
                    best = max(best, gained / (now - sent_a))
        self.rate = best
        self._history.append((sent_at, remaining, self.answered, others))

    def penalize(self, retry_at: float | None, *, answered: bool = False) -> None:
        """A 429 arrived: the model was too hopeful. Nothing is left until `retry_at` (at least half a
        second from now), and the learnt rate is halved. `answered`: called from inside the refused
        request's own answer, which is still counted in flight (and took no token)."""
        with self._cond:
            now = time.time()
            self.remaining = 0
            # Auth0's windows are seconds long: a reset further off is not waited out in full (a request
            # then would be refused again, and tells the gate anew)
            self.reset_at = max(now + 0.5, min(max(self.reset_at, retry_at or 0.0), now + self.MAX_PENALTY))
            self._tokens, self._tokens_at = 0.0, now
            self._debt, self._sent_since = max(0, self.inflight - (1 if answered else 0)), 0
            self.rate /= 2
            self._history.clear()
            self._cond.notify_all()
