"""Fixtures for the cluster proof: nginx (Debian's, unprivileged) in front of two `streamlit run app.py`,
a throwaway PostgreSQL audit database and a dev tenant, all on loopback (`deploy.cluster.Cluster`).

Without nginx the tests skip, saying how to install it; under $CI they fail instead (.ci/run installs it).
On a failure the report gets every instance's output and nginx's error log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.cluster import Cluster
from deploy.postgres import in_ci
from deploy.proxy import INSTALL_HINT, NGINX, nginx_available
from tests.support.devtenant_proc import DevTenant
from tests.support.postgres import PostgresServer, postgres_session

HERE = Path(__file__).resolve().parent
LOG_TAIL = 12_000
running: list[Cluster] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents and "start_cluster" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for cluster in running:
            for name, text in cluster.output().items():
                report.sections.append((f"cluster {name}", text[-LOG_TAIL:]))
    return report


@pytest.fixture(scope="package")
def nginx() -> Path:
    if not nginx_available():
        message = f"There is no nginx at {NGINX}. {INSTALL_HINT}"
        if in_ci():
            pytest.fail(f"{message} (CI is set: the cluster tests must run)", pytrace=False)
        pytest.skip(message)
    return NGINX


@pytest.fixture(scope="package")
def cluster_postgres() -> Iterator[PostgresServer]:
    yield from postgres_session()


@pytest.fixture(scope="package")
def cluster_tenant() -> Iterator[DevTenant]:
    with DevTenant(users=60) as dev:
        yield dev


@pytest.fixture(scope="package")
def start_cluster(
    nginx, cluster_postgres: PostgresServer, cluster_tenant: DevTenant, tmp_path_factory
) -> Iterator[Callable[..., Cluster]]:
    """Starts clusters on the shared dev tenant, each with a fresh audit database; all stopped at the end."""
    started: list[Cluster] = []

    def start(name: str, **options) -> Cluster:
        cluster = Cluster(
            tmp_path_factory.mktemp(f"cluster-{name}"),
            tenant_url=cluster_tenant.base_url,
            audit_database_url=cluster_postgres.create_database(),
            **options,
        )
        started.append(cluster)
        running.append(cluster)
        return cluster.start()

    yield start
    for cluster in started:
        cluster.stop()
        running.remove(cluster)
