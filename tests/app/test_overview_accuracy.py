"""The Overview says which of its figures are exact and which are estimates (issue 19, part 4)."""

from __future__ import annotations

from tests.app.test_overview import budget, sign_in_at, view
from tests.support.app_env import clear_app_caches
from tests.support.devtenant_proc import DevTenant


def notes(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith(("Every figure", "Exact counts", "Estimates"))]


def test_a_listed_tenant_says_every_figure_is_exact(fresh_tenant, tmp_path, monkeypatch):
    at, _ = view(sign_in_at(fresh_tenant, tmp_path, monkeypatch), fresh_tenant)
    assert notes(at) == [
        "Every figure is exact: counted here from all 153 users, each read once from Auth0's user listing."
    ]
    clear_app_caches()


def test_a_counted_tenant_past_the_cap_names_its_estimates_at_the_same_cost(tmp_path, monkeypatch):
    with DevTenant(users=5000) as dev:
        at, cost = view(sign_in_at(dev, tmp_path, monkeypatch), dev)
        assert not at.error and cost <= budget(dev)  # the bounded cost of before: the notes cost nothing
        said = notes(at)
        assert said[0].startswith("Exact counts, as Auth0's user search has them: Total users")
        assert said[1].startswith("Estimates: 'older' under Last login")
        assert any("export every user from the Users page" in c.value for c in at.caption)
        clear_app_caches()
