"""The tenant in figures: what the Overview page shows, gathered within a fixed Management API budget.

Streamlit-free: `gather(directory, now, progress=...)` returns `Figures`; `FiguresStore` keeps them for a
few minutes, process-wide, so a warm view costs no request at all.

How the figures are gathered (every day boundary is 00:00 UTC):

1. One request lists the first 100 users, oldest first (`sort=created_at:1`, `per_page=100`, a few fields):
   its `total` is N, its users are a first sample of the tenant's connections.
2. Small tenants are *listed*: every user fetched once, `ceil(N/100)` requests in all (the first request
   is page 0), and counted here. Past Auth0's 1000-result window the listing continues in segments:
   `created_at:["<last seen>" TO *]`, again oldest first (users on the boundary are fetched twice and
   de-duplicated).
3. Bigger tenants are *counted*: one v3 search per figure with `per_page=1`, read from `total`
   (21 searches), one per connection, and one `NOT (identities.connection:...)` search for the users in
   no counted connection (its 100 users name connections the sample missed, counted while the budget lasts).

Whichever is cheaper is chosen; the cost stays within `min(ceil(N/100) + 1, 30)` requests. Requests run
on a small thread pool behind the directory's rate gate (x-ratelimit-* headers), so 429s are waited out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from admin_core.domain import SEARCH_CAP, SearchPage, User
from admin_core.errors import Unreachable
from admin_core.query import phrase

PER_PAGE = 100
MAX_REQUESTS = 30
WORKERS = 4
TTL_SECONDS = 300
FIELDS = "user_id,created_at,last_login,blocked,email_verified,identities"
SORT = "created_at:1"
MONTHS = 12
WINDOWS = (7, 30, 90)  # days back from today's 00:00 UTC
BUCKETS = ("today", "7 d", "30 d", "90 d", "older", "never")
OTHER = "Other connections"

Progress = Callable[[int, int | None, str], None]  # (requests done, requests planned or None, what)


class PagedSearch(Protocol):
    """What the figures need from the Management API wrapper (`admin_core.auth0.users.Directory` is one)."""

    def search_page(
        self,
        q: str | None,
        *,
        page: int = 0,
        per_page: int = 100,
        sort: str | None = None,
        fields: str | None = None,
    ) -> SearchPage: ...


def request_budget(total: int) -> int:
    """The most Management API requests one cold overview may cost for a tenant of `total` users."""
    return min(math.ceil(total / PER_PAGE) + 1, MAX_REQUESTS)


# --- UTC boundaries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boundaries:
    """Calendar facts for one moment, in UTC: today, the window starts, the last 12 months."""

    today: date

    @classmethod
    def at(cls, now: datetime) -> Boundaries:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return cls(today=now.astimezone(UTC).date())

    def since(self, days: int) -> date:
        """First day of the window 'last `days` days': 00:00 UTC, `days` days before today."""
        return self.today - timedelta(days=days)

    @property
    def months(self) -> tuple[date, ...]:
        """First days of the last 12 months, oldest first, the current month last."""
        y, m = self.today.year, self.today.month
        out = []
        for back in range(MONTHS - 1, -1, -1):
            k = y * 12 + (m - 1) - back
            out.append(date(k // 12, k % 12 + 1, 1))
        return tuple(out)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def month_end(first: date) -> date:
    k = first.year * 12 + first.month  # the next month, 0-based
    return date(k // 12, k % 12 + 1, 1) - timedelta(days=1)


def iso_ms(moment: datetime) -> str:
    """Auth0's timestamp format (UTC, milliseconds): 2026-03-04T12:34:56.789Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def count_queries(b: Boundaries) -> dict[str, str]:
    """The v3 searches of the counting approach, by figure key (the total comes from the first request)."""
    queries = {
        "new_7d": f"created_at:[{b.since(7)} TO *]",
        "new_30d": f"created_at:[{b.since(30)} TO *]",
        "login_today": f"last_login:[{b.today} TO *]",
        "login_7d": f"last_login:[{b.since(7)} TO *]",
        "login_30d": f"last_login:[{b.since(30)} TO *]",
        "login_90d": f"last_login:[{b.since(90)} TO *]",
        "never": "NOT _exists_:last_login",
        "blocked": "blocked:true",
        "unverified": "email_verified:false",
    }
    for first in b.months:
        queries[f"month:{first:%Y-%m}"] = f"created_at:[{first} TO {month_end(first)}]"
    return queries


def connection_query(name: str) -> str:
    return f"identities.connection:{phrase(name)}"


def outside_query(names: Iterable[str]) -> str | None:
    """Users in none of these connections (None: everyone)."""
    names = list(names)
    if not names:
        return None
    return "NOT (" + " OR ".join(connection_query(n) for n in names) + ")"


def connections_of(user: User) -> set[str]:
    return {str(i["connection"]) for i in user.identities if i.get("connection")}


# --- the figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What the Overview shows. Counts are users; series are (label, users) pairs in display order."""

    taken_at: datetime
    total: int
    new_7d: int
    new_30d: int
    active_30d: int
    never_logged_in: int
    blocked: int
    email_unverified: int
    signups_by_month: tuple[tuple[str, int], ...]  # ("2026-01", n), the last 12 months, oldest first
    last_login: tuple[tuple[str, int], ...]  # BUCKETS, in that order
    connections: tuple[tuple[str, int], ...]  # most users first; OTHER (if any) last
    method: str  # "listed" or "counted"
    requests: int  # Management API requests made (429s included)

    @property
    def boundaries(self) -> Boundaries:
        return Boundaries.at(self.taken_at)


def _buckets(total: int, today: int, d7: int, d30: int, d90: int, never: int) -> tuple[tuple[str, int], ...]:
    """Recency buckets from cumulative counts (last_login on or after each boundary)."""
    values = (today, d7 - today, d30 - d7, d90 - d30, total - never - d90, never)
    return tuple(zip(BUCKETS, (max(0, v) for v in values), strict=True))


def _ordered(counts: dict[str, int], other: int = 0) -> tuple[tuple[str, int], ...]:
    rows = sorted(((n, c) for n, c in counts.items() if c > 0), key=lambda r: (-r[1], r[0]))
    if other > 0:
        rows.append((OTHER, other))
    return tuple(rows)


def tally(users: Iterable[User], now: datetime, *, requests: int) -> Figures:
    """Figures counted from every user of the tenant (the listing approach)."""
    b = Boundaries.at(now)
    t0, t7, t30, t90 = (midnight(d) for d in (b.today, b.since(7), b.since(30), b.since(90)))
    months = {f"{m:%Y-%m}": 0 for m in b.months}
    total = new_7d = new_30d = never = blocked = unverified = 0
    at_least: Counter[str] = Counter()
    connections: Counter[str] = Counter()
    other = 0
    for user in users:
        total += 1
        created = user.created_at
        if created is not None:
            created = created.astimezone(UTC)
            new_7d += created >= t7
            new_30d += created >= t30
            key = f"{created:%Y-%m}"
            if key in months:
                months[key] += 1
        login = user.last_login
        if login is None:
            never += 1
        else:
            for name, bound in (("today", t0), ("7", t7), ("30", t30), ("90", t90)):
                at_least[name] += login >= bound
        blocked += user.blocked is True
        unverified += user.email_verified is False
        names = connections_of(user)
        connections.update(names)
        other += not names
    return Figures(
        taken_at=now,
        total=total,
        new_7d=new_7d,
        new_30d=new_30d,
        active_30d=at_least["30"],
        never_logged_in=never,
        blocked=blocked,
        email_unverified=unverified,
        signups_by_month=tuple(months.items()),
        last_login=_buckets(total, at_least["today"], at_least["7"], at_least["30"], at_least["90"], never),
        connections=_ordered(dict(connections), other),
        method="listed",
        requests=requests,
    )


# --- running requests --------------------------------------------------------------------------------


class _Runner:
    """Runs searches on a small pool; reports progress from the calling thread; stops at the first error."""

    def __init__(self, pool: ThreadPoolExecutor, progress: Progress | None):
        self.pool = pool
        self.progress = progress
        self.done = 0
        self.planned: int | None = None

    def plan(self, planned: int) -> None:
        self.planned = max(planned, self.done)

    def _report(self, what: str) -> None:
        if self.progress is not None:
            self.progress(self.done, self.planned, what)

    def batch(self, calls: dict[Any, Callable[[], SearchPage]], what: str) -> dict[Any, SearchPage]:
        futures: dict[Future, Any] = {self.pool.submit(fn): key for key, fn in calls.items()}
        results: dict[Any, SearchPage] = {}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()  # raises the first error
                    self.done += 1
                    if self.planned is not None and self.done > self.planned:
                        self.planned = self.done
                    self._report(what)
        finally:
            for future in pending:
                future.cancel()
        return results

    def one(self, fn: Callable[[], SearchPage], what: str) -> SearchPage:
        return self.batch({0: fn}, what)[0]


def gather(
    directory: PagedSearch, now: datetime, *, progress: Progress | None = None, workers: int = WORKERS
) -> Figures:
    """Gather the figures for `now` (timezone-aware): listed or counted, whichever costs fewer requests."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="overview") as pool:
        run = _Runner(pool, progress)
        first = run.one(
            lambda: directory.search_page(None, page=0, per_page=PER_PAGE, sort=SORT, fields=FIELDS),
            "Counting users",
        )
        total = first.total
        budget = request_budget(total)
        sample = Counter(name for user in first.users for name in connections_of(user))
        counted_cost = 1 + len(count_queries(Boundaries.at(now))) + len(sample) + 1
        # a listing past the 1000-result window re-reads one boundary user per extra segment
        segments = max(1, math.ceil(total / SEARCH_CAP))
        listed_cost = math.ceil((total + segments - 1) / PER_PAGE) if total else 1
        if total <= SEARCH_CAP or listed_cost <= min(counted_cost, budget):
            run.plan(listed_cost)
            users = _list_everyone(directory, run, first)
            return tally(users, now, requests=run.done)
        run.plan(min(counted_cost, budget))
        return _count(directory, run, first, now, budget, sample)


def _page_call(directory: PagedSearch, q: str | None, page: int, fields: str = FIELDS):
    return lambda: directory.search_page(q, page=page, per_page=PER_PAGE, sort=SORT, fields=fields)


def _count_call(directory: PagedSearch, q: str):
    return lambda: directory.search_page(q, per_page=1, fields="user_id")


def _list_everyone(directory: PagedSearch, run: _Runner, first: SearchPage) -> list[User]:
    seen: dict[str, User] = {}
    head, q = first, None
    while True:
        pages = math.ceil(min(head.total, SEARCH_CAP) / PER_PAGE)
        rest = run.batch({p: _page_call(directory, q, p) for p in range(1, pages)}, "Listing users")
        segment = list(head.users) + [u for p in sorted(rest) for u in rest[p].users]
        before = len(seen)
        for user in segment:
            seen.setdefault(user.user_id, user)
        if head.total <= SEARCH_CAP:
            return list(seen.values())
        dated = [u.created_at for u in segment if u.created_at is not None]
        if len(seen) == before or not dated:
            raise Unreachable(
                "Auth0's listing did not move past its first 1,000 results (many users share one creation "
                "time). The overview cannot be gathered for this tenant right now."
            )
        q = f"created_at:[{phrase(iso_ms(max(dated)))} TO *]"
        head = run.one(_page_call(directory, q, 0), "Listing users")


def _count(
    directory: PagedSearch,
    run: _Runner,
    first: SearchPage,
    now: datetime,
    budget: int,
    sample: Counter,
) -> Figures:
    queries = count_queries(Boundaries.at(now))
    used = 1 + len(queries)
    # connections: the most common in the sample first, as many as the budget allows, then the rest
    allowance = max(1, budget - used)
    chosen = [name for name, _ in sorted(sample.items(), key=lambda r: (-r[1], r[0]))][: allowance - 1]
    calls: dict[Any, Callable[[], SearchPage]] = {
        key: _count_call(directory, q) for key, q in queries.items()
    }
    calls.update({("conn", name): _count_call(directory, connection_query(name)) for name in chosen})
    calls["outside"] = _page_call(directory, outside_query(chosen), 0, fields="user_id,identities")
    figures = run.batch(calls, "Counting users")
    used += len(chosen) + 1
    connections = {name: figures[("conn", name)].total for name in chosen}
    outside = figures["outside"]
    other = 0
    while outside.total > 0:
        if outside.total <= len(outside.users):  # every remaining user is in hand: count them here
            for user in outside.users:
                names = connections_of(user)
                for name in names:
                    connections[name] = connections.get(name, 0) + 1
                other += not names
            break
        new = Counter(name for u in outside.users for name in connections_of(u))
        left = budget - used
        if not new or left < 2:
            other = outside.total
            break
        more = [name for name, _ in sorted(new.items(), key=lambda r: (-r[1], r[0]))][: left - 1]
        run.plan(used + len(more) + 1)
        calls = {("conn", name): _count_call(directory, connection_query(name)) for name in more}
        calls["outside"] = _page_call(
            directory, outside_query([*connections, *more]), 0, fields="user_id,identities"
        )
        results = run.batch(calls, "Counting connections")
        used += len(more) + 1
        connections.update({name: results[("conn", name)].total for name in more})
        outside = results["outside"]

    total = first.total
    n = {key: page.total for key, page in figures.items() if isinstance(key, str)}
    return Figures(
        taken_at=now,
        total=total,
        new_7d=n["new_7d"],
        new_30d=n["new_30d"],
        active_30d=n["login_30d"],
        never_logged_in=n["never"],
        blocked=n["blocked"],
        email_unverified=n["unverified"],
        signups_by_month=tuple((key.split(":", 1)[1], v) for key, v in n.items() if key.startswith("month:")),
        last_login=_buckets(
            total, n["login_today"], n["login_7d"], n["login_30d"], n["login_90d"], n["never"]
        ),
        connections=_ordered(connections, other),
        method="counted",
        requests=run.done,
    )


# --- how exact the figures are (said on the page) ---------------------------------------------------


def accuracy(figures: Figures) -> tuple[str, ...]:
    """Which figures are exact and which are estimates, in the person's words (one sentence each)."""
    if figures.method == "listed":
        return (
            f"Every figure is exact: counted here from all {figures.total:,} users, each read once from "
            "Auth0's user listing.",
        )
    notes = [
        "Exact counts, as Auth0's user search has them: Total users, the four figures beside it, the three "
        "below, each month's sign-ups, and each named connection (one search per figure, nothing sampled; "
        "Auth0's search index can trail changes made in the last few seconds).",
        "Estimates: 'older' under Last login is worked out as the total minus the other bars (the searches "
        "run a moment apart, so it can be off by the people who signed in meanwhile).",
    ]
    if any(name == OTHER for name, _ in figures.connections):
        notes.append(f"'{OTHER}' is one exact count of the users in none of the connections counted by name.")
    notes.append(
        "For counts to the last person, export every user from the Users page (Auth0's export job) and count "
        "in the file."
    )
    return tuple(notes)


# --- the process-wide store --------------------------------------------------------------------------


class FiguresStore:
    """The last figures, kept `ttl` seconds; one gathering at a time (other sessions wait for it)."""

    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._gathering = threading.Lock()
        self._figures: Figures | None = None
        self._stored_at = 0.0

    def fresh(self) -> Figures | None:
        with self._lock:
            if self._figures is not None and time.monotonic() - self._stored_at < self.ttl:
                return self._figures
            return None

    def get_or_gather(self, gather_fn: Callable[[], Figures]) -> Figures:
        with self._gathering:
            figures = self.fresh()
            if figures is not None:
                return figures
            figures = gather_fn()
            with self._lock:
                self._figures, self._stored_at = figures, time.monotonic()
            return figures

    def clear(self) -> None:
        with self._lock:
            self._figures = None
