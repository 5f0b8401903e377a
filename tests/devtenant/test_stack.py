"""`make run`'s launcher (devtenant/stack.py): where it lets the app listen."""

from __future__ import annotations

from devtenant.stack import app_address


def test_make_run_on_a_real_tenant_listens_on_loopback_by_default(tmp_path):
    assert app_address({}, tmp_path / ".env") == "127.0.0.1"


def test_streamlit_server_address_from_the_environment_or_dotenv_opens_it_up(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("STREAMLIT_SERVER_ADDRESS=0.0.0.0\n")
    assert app_address({}, dotenv) == "0.0.0.0"  # noqa: S104 (a string, nothing binds)
    assert app_address({"STREAMLIT_SERVER_ADDRESS": "192.0.2.7"}, dotenv) == "192.0.2.7"
