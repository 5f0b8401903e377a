"""The rate gate's model of Auth0's token bucket, fed real httpx answers: it never lets a request start
without a token it can prove, learns no refill rate faster than the answers show, and stands aside when the
tenant has no limit to speak of."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from admin_core.auth0.client import RateLimitGate
from admin_core.errors import RateLimited


def answer(*, limit: int, remaining: int, reset: float, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        headers={
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(math.ceil(reset)),
        },
    )


def test_before_any_header_one_request_at_a_time():
    gate = RateLimitGate(max_wait=0.05)
    gate.acquire()
    with pytest.raises(RateLimited):
        gate.acquire()  # the first one's answer has not told the limit yet
    gate.release()
    gate.acquire()


def test_an_empty_bucket_waits_for_a_token_it_can_prove():
    """remaining 0, full again in 10 s: one token in 5 s at the fastest the headers allow, so none now."""
    gate = RateLimitGate(max_wait=0.05)
    ticket = gate.acquire()
    now = time.time()
    gate.observe(answer(limit=2, remaining=0, reset=now + 10), sent_at=now, ticket=ticket)
    gate.release()
    assert 0 < gate.rate <= 2 / 10 + 1e-9  # at most (limit - remaining) / time to full
    with pytest.raises(RateLimited):
        gate.acquire()


def test_the_learnt_rate_is_a_lower_bound_of_the_buckets():
    """A bucket of 2 refilling 2 a second, drained: each answer says remaining 0. Five answers half a second
    apart prove (first against last) 3 tokens regained in about 2 s; never more than the true 2 a second."""
    gate = RateLimitGate(max_wait=0.05)
    start = time.time() - 2.0
    for k in range(5):  # answers of requests sent one at a time (nothing else in flight)
        sent = start + 0.5 * k
        gate.observe(answer(limit=2, remaining=0, reset=sent + 1.0), sent_at=sent)
    assert 1.2 <= gate.rate <= 2.0, gate.rate


def test_requests_in_flight_count_against_the_tokens_left():
    """remaining 3, full in a minute: three requests may go at once, the fourth may not."""
    gate = RateLimitGate(max_wait=0.05)
    ticket = gate.acquire()
    now = time.time()
    gate.observe(answer(limit=10, remaining=3, reset=now + 60), sent_at=now, ticket=ticket)
    gate.release()
    for _ in range(3):
        gate.acquire()
    with pytest.raises(RateLimited):
        gate.acquire()


def test_no_limit_to_speak_of_lets_a_pool_go_at_once():
    gate = RateLimitGate(max_wait=0.05)
    ticket = gate.acquire()
    now = time.time()
    gate.observe(answer(limit=1000, remaining=1000, reset=now), sent_at=now, ticket=ticket)
    gate.release()
    for _ in range(16):
        gate.acquire()
    assert gate.inflight == 16


def test_a_429_empties_the_bucket_and_halves_the_rate():
    gate = RateLimitGate(max_wait=0.05)
    gate.rate = 1.8
    ticket = gate.acquire()
    now = time.time()
    gate.observe(answer(limit=2, remaining=0, reset=now + 5, status=429), sent_at=now, ticket=ticket)
    gate.release()
    assert gate.rate == pytest.approx(0.9)
    with pytest.raises(RateLimited):
        gate.acquire()


def test_a_first_answer_that_is_a_429_still_lets_a_request_go_after_its_reset():
    """The bucket's size is not known yet (no earlier answer): at reset, one request may go and tell it."""
    gate = RateLimitGate(max_wait=3)
    ticket = gate.acquire()
    now = time.time()
    refused = httpx.Response(429, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now))})
    gate.observe(refused, sent_at=now, ticket=ticket)
    gate.release()
    gate.acquire()  # after the half second a 429 costs at least


def test_requests_get_their_tokens_in_the_order_they_asked():
    """A bulk job's pool keeps 16 requests waiting on the Free plan's 2 a second. Without an order, whoever
    happened to be awake when a token appeared took it, and one delete of 200 waited past max_wait and was
    refused here without being sent ("rate limit reached", make bench, 2026-12-02). The request that asked
    first gets the next token; one that asks later waits its turn, even when it asks at the very moment the
    token appears (here: inside the answer's own lock, before the waiting thread can wake)."""
    import threading

    gate = RateLimitGate(max_wait=1.0)
    first_ticket = gate.acquire()
    now = time.time()
    gate.observe(answer(limit=1, remaining=0, reset=now + 100, status=200), sent_at=now, ticket=first_ticket)
    gate.release()  # the bucket is empty for 100 s; no refill rate learnt
    got: list[str] = []  # in the order the tokens were given
    refused: list[str] = []

    def ask(name: str) -> None:
        try:
            gate.acquire()
            got.append(name)
        except RateLimited:
            refused.append(name)

    waiting = threading.Thread(target=ask, args=("asked first",))
    waiting.start()
    time.sleep(0.2)  # it is waiting on the gate by now
    with gate._cond:  # a token appears, and a newcomer asks before the waiting thread can run
        gate.observe(answer(limit=1, remaining=1, reset=time.time() + 100), sent_at=time.time())
        ask("asked later")
    waiting.join(5)
    assert got[:1] == ["asked first"], (got, refused)  # (the later one may follow once a token is proven)
