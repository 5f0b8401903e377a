"""The Overview page against dev tenants over real HTTP (AppTest): figures, request cost, caching, limits."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.app_env import ROOT, app_environment, clear_app_caches
from tests.support.browserless import FakePopup
from tests.support.devtenant_proc import DevTenant

PAGE = "pages/overview.py"
TIMEOUT = 90


# --- what the tenant holds, computed here from its raw users --------------------------------------------


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def expected(users: list[dict], today: date) -> dict:
    """Every figure, from the dev tenant's own data: windows start at 00:00 UTC `days` before today."""

    def since(days: int) -> datetime:
        d = today - timedelta(days=days)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)

    t0 = datetime(today.year, today.month, today.day, tzinfo=UTC)
    months = []
    y, m = today.year, today.month
    for _ in range(12):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    created = [when(u.get("created_at")) for u in users]
    logins = [when(u.get("last_login")) for u in users]
    seen = [t for t in logins if t is not None]
    buckets = {
        "today": sum(t >= t0 for t in seen),
        "7 d": sum(since(7) <= t < t0 for t in seen),
        "30 d": sum(since(30) <= t < since(7) for t in seen),
        "90 d": sum(since(90) <= t < since(30) for t in seen),
        "older": sum(t < since(90) for t in seen),
        "never": len(users) - len(seen),
    }
    per_month = Counter(f"{c:%Y-%m}" for c in created if c)
    connections = Counter(
        name for u in users for name in {i["connection"] for i in u.get("identities") or []}
    )
    return {
        "metrics": {
            "Total users": len(users),
            "New in the last 7 days": sum(c is not None and c >= since(7) for c in created),
            "New in the last 30 days": sum(c is not None and c >= since(30) for c in created),
            "Active in the last 30 days": sum(t >= since(30) for t in seen),
            "Never logged in": len(users) - len(seen),
            "Blocked": sum(u.get("blocked") is True for u in users),
            "Email not verified": sum(u.get("email_verified") is False for u in users),
        },
        "months": {k: per_month.get(k, 0) for k in months},
        "recency": buckets,
        "connections": dict(connections),
    }


# --- what the page shows -------------------------------------------------------------------------------


def shown(at: AppTest) -> dict:
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    return {
        "metrics": {m.label: int(m.value.replace(",", "")) for m in at.metric},
        "months": dict(frames[("month", "users")].itertuples(index=False, name=None)),
        "recency": dict(frames[("last login", "users")].itertuples(index=False, name=None)),
        "connections": dict(frames[("connection", "users")].itertuples(index=False, name=None)),
    }


def taken_on(at: AppTest) -> date:
    text = next(c.value for c in at.caption if "Figures taken at" in c.value)
    found = re.search(r"Figures taken at \d\d:\d\d:\d\d UTC on (\d{4}-\d\d-\d\d)", text)
    assert found, text
    return date.fromisoformat(found[1])


def requests(tenant: DevTenant) -> int:
    return tenant.stats()["management_requests"]


def budget(tenant: DevTenant) -> int:
    return min(math.ceil(len(tenant.users()) / 100) + 1, 30)


def charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def sign_in_at(tenant: DevTenant, tmp_path, monkeypatch, who: str = "admin", *, cold: bool = True) -> AppTest:
    """A new session signed in to a tenant (on the Users page); `cold` empties every process cache first."""
    for key, value in app_environment(tenant.base_url, tmp_path).items():
        monkeypatch.setenv(key, value)
    if cold:
        clear_app_caches()
    FakePopup(email=f"{who}@example.com").install(monkeypatch)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def view(at: AppTest, tenant: DevTenant) -> tuple[AppTest, int]:
    """Open the Overview; returns the AppTest and the Management API requests the view cost."""
    before = requests(tenant)
    at.switch_page(PAGE)
    at.run(timeout=TIMEOUT)
    return at, requests(tenant) - before


def assert_correct(at: AppTest, tenant: DevTenant, users: list[dict] | None = None) -> dict:
    """The page shows the figures of `users` (default: the tenant as it is now)."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert charts(at) == 3
    figures = shown(at)
    assert figures == expected(tenant.users() if users is None else users, taken_on(at))
    return figures


# --- small tenant (150 users): listed --------------------------------------------------------------------


def test_small_tenant_figures_cost_and_warm_views(fresh_tenant, tmp_path, monkeypatch):
    at, cost = view(sign_in_at(fresh_tenant, tmp_path, monkeypatch), fresh_tenant)
    assert_correct(at, fresh_tenant)
    when_taken = fresh_tenant.users()  # the cached figures describe the tenant as it was then
    assert cost <= budget(fresh_tenant) == 3
    assert cost == 2  # 153 users: two pages of 100
    assert "UTC" in next(c.value for c in at.caption if "Figures taken at" in c.value)

    before = requests(fresh_tenant)
    at.run()
    assert requests(fresh_tenant) == before  # warm rerun

    other, cost = view(sign_in_at(fresh_tenant, tmp_path, monkeypatch, "viewer", cold=False), fresh_tenant)
    assert cost == 0  # another session, warm
    # The viewer's sign-in just moved their last_login (to "today" in the first hours of a UTC day); the
    # figures kept for 5 minutes do not count it, and say when they were taken.
    assert_correct(other, fresh_tenant, when_taken)
    clear_app_caches()


def test_viewer_sees_the_overview(fresh_tenant, tmp_path, monkeypatch):
    at, _ = view(sign_in_at(fresh_tenant, tmp_path, monkeypatch, "viewer"), fresh_tenant)
    assert_correct(at, fresh_tenant)
    assert at.button(key="overview.refresh")
    clear_app_caches()


def test_refresh_gathers_again_and_sees_changes(fresh_tenant, tmp_path, monkeypatch):
    at, _ = view(sign_in_at(fresh_tenant, tmp_path, monkeypatch), fresh_tenant)
    fresh_tenant.create_user(email="overview.new@example.org", connection="github")
    at.run()
    assert shown(at)["metrics"]["Total users"] == 153  # cached
    before = requests(fresh_tenant)
    at.button(key="overview.refresh").click().run(timeout=TIMEOUT)
    assert requests(fresh_tenant) - before == 2
    assert_correct(at, fresh_tenant)
    assert shown(at)["metrics"]["Total users"] == 154
    clear_app_caches()


def test_an_auth0_failure_shows_a_message_and_no_figures(fresh_tenant, tmp_path, monkeypatch):
    at = sign_in_at(fresh_tenant, tmp_path, monkeypatch)
    fresh_tenant.add_fault(path="/api/v2/users", status=503, times=1)
    at, _ = view(at, fresh_tenant)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Auth0 is having trouble right now (HTTP 503). Try again in a moment."
    ]
    assert not at.metric and charts(at) == 0
    at.button(key="overview.refresh").click().run(timeout=TIMEOUT)
    assert_correct(at, fresh_tenant)  # failures are not cached
    clear_app_caches()


def test_a_failure_in_the_middle_shows_no_partial_figures(fresh_tenant, tmp_path, monkeypatch):
    at = sign_in_at(fresh_tenant, tmp_path, monkeypatch)
    fresh_tenant.add_fault(path="/api/v2/users", delay_ms=1, times=1)  # the first request goes through
    fresh_tenant.add_fault(path="/api/v2/users", status=500, times=1)  # the second fails
    at, cost = view(at, fresh_tenant)
    assert cost == 2
    assert [e.value for e in at.error] == [
        "Auth0 is having trouble right now (HTTP 500). Try again in a moment."
    ]
    assert not at.metric and charts(at) == 0 and not at.dataframe
    clear_app_caches()


# --- big tenants: listed in segments past the 1000 cap, or counted --------------------------------------


@pytest.fixture(scope="module", params=[2150, 5000, 50000], ids=lambda n: f"{n}-users")
def big(request):
    with DevTenant(users=request.param) as dev:
        yield dev


def test_big_tenant_figures_cost_and_warm_views(big, tmp_path, monkeypatch):
    at, cost = view(sign_in_at(big, tmp_path, monkeypatch), big)
    figures = assert_correct(at, big)
    limit = budget(big)
    assert cost <= limit
    print(f"\n{figures['metrics']['Total users']} users: cold overview {cost} requests (budget {limit})")
    before = requests(big)
    at.run()
    assert requests(big) == before
    other, cost = view(sign_in_at(big, tmp_path, monkeypatch, "viewer", cold=False), big)
    assert cost == 0
    assert not other.error and shown(other) == figures
    clear_app_caches()


def test_free_plan_rate_limit_is_waited_out(tmp_path, monkeypatch):
    with DevTenant(users=5000, rate_limit="free") as dev:
        at, cost = view(sign_in_at(dev, tmp_path, monkeypatch), dev)
        assert_correct(at, dev)
        print(f"\nfree plan, 5003 users: cold overview {cost} requests")
        assert cost <= budget(dev)  # paced by x-ratelimit-*: at most the one 429 right after sign-in
        clear_app_caches()


def test_connections_beyond_the_sample_are_found_within_the_budget(tmp_path, monkeypatch):
    """Counted tenant with 9 more connections than the first page shows: counted while the budget lasts,
    the rest shown as one exact 'Other connections' bar."""
    with DevTenant(users=3000) as dev:
        for i in range(9):
            for j in range(8 + 4 * i):
                dev.create_user(email=f"sso{i}.{j}@corp{i}.example", connection=f"corp-sso-{i}")
        at, cost = view(sign_in_at(dev, tmp_path, monkeypatch), dev)
        assert not at.error and cost <= budget(dev) == 30
        figures = shown(at)
        want = expected(dev.users(), taken_on(at))
        assert figures["metrics"] == want["metrics"] and figures["months"] == want["months"]
        got = dict(figures["connections"])
        other = got.pop("Other connections", 0)
        assert all(want["connections"][name] == n for name, n in got.items())
        assert other == sum(n for name, n in want["connections"].items() if name not in got)
        assert {"Username-Password-Authentication", "google-oauth2", "github"} <= set(got)
        assert len(got) >= 6 and other > 0  # three more counted from the page of uncounted users
        print(f"\n3,219 users on 12 connections: {cost} requests; counted {sorted(got)}, other {other}")
        clear_app_caches()
