"""The rate gate learns from every Management API answer, through the httpx client the wrapper gives the SDK."""

from __future__ import annotations

from admin_core.auth0.users import Directory
from admin_core.domain import UserQuery
from admin_core.settings import load_settings
from tests.conftest import app_environment


def test_the_rate_gate_reads_the_headers_of_every_management_api_answer(fresh_tenant, tmp_path):
    directory = Directory.from_settings(
        load_settings(app_environment(fresh_tenant.base_url, tmp_path), dotenv_path=None)
    )
    gate = directory.rate_gate()
    assert (gate.limit, gate.remaining) == (None, None)
    user = directory.list_users(UserQuery()).users[0]  # not a paced search: the hook sees it all the same
    assert gate.limit == 1000 and gate.remaining is not None  # the dev tenant's unlimited x-ratelimit-*
    gate.remaining = None
    directory.role_names(user.user_id)
    assert gate.remaining is not None
