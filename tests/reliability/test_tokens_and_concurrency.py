"""Token reuse, one retry after a 401, and many admins deleting at once."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from admin_core import actions, runtime
from admin_core.auth import Identity, Role
from admin_core.auth0.users import Directory
from admin_core.domain import User, UserQuery
from admin_core.errors import ConfigError
from admin_core.settings import load_settings
from tests.support.app_env import app_environment, clear_app_caches
from tests.support.devtenant_proc import DevTenant


def directory_for(tenant: DevTenant, tmp_path) -> Directory:
    return Directory.from_settings(
        load_settings(app_environment(tenant.base_url, tmp_path), dotenv_path=None)
    )


def grants(tenant: DevTenant) -> int:
    return tenant.stats()["token_grants"].get("client_credentials", 0)


@pytest.mark.case("2 token requests")
def test_token_is_fetched_again_only_when_it_expires(tmp_path):
    with DevTenant(users=20, token_ttl=5) as tenant:
        directory = directory_for(tenant, tmp_path)
        started = time.monotonic()
        while time.monotonic() - started < 3:
            directory.search_page(None, per_page=1)
        assert grants(tenant) == 1
        time.sleep(max(0.0, 5.2 - (time.monotonic() - started)))
        for _ in range(5):
            directory.search_page(None, per_page=1)
        assert grants(tenant) == 2
        assert tenant.stats()["requests"].get("GET /api/v2/users", 0) >= 6


@pytest.mark.case("2 token requests")
def test_a_401_gets_one_fresh_token_and_one_retry(fresh_tenant, tmp_path):
    directory = directory_for(fresh_tenant, tmp_path)
    directory.search_page(None, per_page=1)
    fresh_tenant.add_fault(method="GET", path="/api/v2/users", status=401, times=1)
    assert directory.list_users(UserQuery()).users
    assert grants(fresh_tenant) == 2
    assert fresh_tenant.stats()["requests"]["GET /api/v2/users"] == 3


@pytest.mark.case("2 token requests")
def test_a_persistent_401_is_not_a_loop(fresh_tenant, tmp_path):
    directory = directory_for(fresh_tenant, tmp_path)
    fresh_tenant.add_fault(method="GET", path="/api/v2/users", status=401, times=50)
    with pytest.raises(ConfigError):
        directory.list_users(UserQuery())
    assert grants(fresh_tenant) == 2
    assert fresh_tenant.stats()["requests"]["GET /api/v2/users"] == 2


@pytest.mark.case("2 token requests")
def test_one_token_for_many_threads(fresh_tenant, tmp_path):
    directory = directory_for(fresh_tenant, tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: directory.search_page(None, per_page=1), range(40)))
    assert grants(fresh_tenant) == 1


@pytest.mark.case("5 concurrency")
def test_ten_admin_sessions_delete_200_users_with_overlaps_exactly_once(tmp_path, monkeypatch):
    with DevTenant(users=400) as tenant:
        for key, value in app_environment(tenant.base_url, tmp_path).items():
            monkeypatch.setenv(key, value)
        clear_app_caches()
        try:
            everyone = [u for u in tenant.users() if not u["email"].endswith("@example.com")]
            chosen = random.Random(7).sample(everyone, 200)
            keep = {u["user_id"] for u in everyone} - {u["user_id"] for u in chosen}
            admin = next(u for u in tenant.users() if u["email"] == "admin@example.com")
            identity = Identity(
                sub=admin["user_id"], email=admin["email"], name="Ada", picture=None,
                expires_at=int(time.time()) + 3600, role=Role.ADMIN,
            )  # fmt: skip
            # 10 sessions, each takes 30 of the 200 (overlapping), in its own order.
            rng = random.Random(11)
            plans = [
                [
                    User(user_id=u["user_id"], email=u["email"], name=u.get("name"))
                    for u in rng.sample(chosen, 30)
                ]
                for _ in range(10)
            ]
            covered = {u.user_id for plan in plans for u in plan}
            leftovers = [
                User(user_id=u["user_id"], email=u["email"]) for u in chosen if u["user_id"] not in covered
            ]
            plans[0] += leftovers
            errors: list[BaseException] = []
            barrier = threading.Barrier(10)

            def session(plan):
                try:
                    barrier.wait()
                    return [actions.delete_users(identity=identity, users=[user]) for user in plan]
                except BaseException as exc:  # noqa: BLE001 - any escape fails the test below
                    errors.append(exc)
                    return []

            with ThreadPoolExecutor(max_workers=10) as pool:
                reports = [r for rs in pool.map(session, plans) for r in rs]
            assert errors == []
            remaining = {u["user_id"] for u in tenant.users()}
            assert not remaining & {u["user_id"] for u in chosen}
            assert keep <= remaining
            assert tenant.stats()["requests"]["DELETE /api/v2/users/{id}"] == 200
            done = [u.user_id for r in reports for u in r.done]
            assert sorted(done) == sorted(u["user_id"] for u in chosen)  # each reported deleted exactly once
            audit = runtime.get_audit().query(action="delete", per_page=1000)
            requests = sum(len(plan) for plan in plans)
            assert audit.total == requests
            assert all(e.state in ("ok", "error") and e.completed_at for e in audit.events)
            assert sorted(e.target_user_id for e in audit.events if e.state == "ok") == sorted(done)
        finally:
            clear_app_caches()
