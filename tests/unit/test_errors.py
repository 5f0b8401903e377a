"""One error tree, rendered in one place (what a person reads is a `message` or a sentence, never a class
name), and the checks that used to be written twice: loopback, the default audit URL."""

import ast
import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from admin_core import audit, errors, settings
from admin_core.audit import AuditError
from admin_core.auth import UNREACHABLE_AT_SIGN_IN, _exchange_problem, redirect_uri_for_page
from admin_core.errors import AdminError, AppError
from admin_core.settings import SettingsError, is_loopback, load_settings, normalize_domain
from admin_core.ui.chrome import UNEXPECTED, md


@pytest.mark.parametrize(
    "error",
    [
        AdminError("Auth0 said no."),
        errors.UserGone("The user does not exist."),
        AuditError("The audit log could not be written."),
        SettingsError(["AUTH0_DOMAIN is missing: put your tenant's domain there"]),
    ],
)
def test_every_error_a_person_sees_is_an_app_error_with_a_message(error):
    assert isinstance(error, AppError)
    assert isinstance(error.message, str) and error.message


def test_a_settings_error_keeps_its_problems_and_short_text():
    error = SettingsError(["A is missing", "B is bad"], nothing_configured=True)
    assert error.problems == ["A is missing", "B is bad"] and error.nothing_configured
    assert str(error) == "A is missing; B is bad"
    assert "- A is missing" in error.message


def _show(error_kind: str) -> None:
    from admin_core.errors import NotAllowed
    from admin_core.ui.chrome import show_error

    if error_kind == "app":
        show_error(NotAllowed("Only admins can change users."))
    elif error_kind == "text":
        show_error("Auth0 said **no**", level="warning")
    else:
        try:
            {}["the-detail-for-the-log"]
        except KeyError as exc:
            show_error(exc)


def test_show_error_renders_an_app_error_its_message_and_a_text_as_text():
    at = AppTest.from_function(_show, args=("app",)).run()
    assert [e.value for e in at.error] == [md("Only admins can change users.")]
    at = AppTest.from_function(_show, args=("text",)).run()
    assert [w.value for w in at.warning] == [md("Auth0 said **no**")]


def test_an_unexpected_error_is_a_sentence_on_the_page_and_a_traceback_in_the_log(caplog):
    with caplog.at_level(logging.ERROR, logger="admin_core.ui.chrome"):
        at = AppTest.from_function(_show, args=("other",)).run()
    shown = [e.value for e in at.error]
    assert shown == [md(UNEXPECTED)]
    assert "KeyError" not in shown[0] and "the-detail-for-the-log" not in shown[0]
    logged = [r for r in caplog.records if r.name == "admin_core.ui.chrome"]
    assert logged and logged[0].exc_info and logged[0].exc_info[0] is KeyError


def test_a_failed_code_exchange_without_an_answer_reads_as_a_sentence(caplog):
    class ConnectFailed(Exception):
        pass

    with caplog.at_level(logging.WARNING, logger="admin_core.auth"):
        message = _exchange_problem(ConnectFailed("connection refused"))
    assert message == UNREACHABLE_AT_SIGN_IN and "ConnectFailed" not in message
    assert "ConnectFailed" in caplog.text  # the detail is for the server log


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("intranet-alias", False),
        ("", False),
        (None, False),
    ],
)
def test_one_loopback_check(host, expected):
    assert is_loopback(host) is expected


def test_sign_in_and_the_auth0_url_agree_on_what_is_loopback():
    """A host that may serve plain-http Auth0 is also one whose callback follows the page's host."""
    env = {
        "AUTH0_DOMAIN": "http://127.0.0.1:8600",
        "AUTH0_CLIENT_ID": "client",
        "AUTH0_CLIENT_SECRET": "s3cr3t-value",
        "APP_URL": "http://localhost:8501",
    }
    current = load_settings(env, dotenv_path=None)
    for host in ("127.0.0.1", "127.0.0.2", "[::1]", "localhost"):
        assert normalize_domain(f"http://{host}:8600").startswith("http://")
        assert redirect_uri_for_page(current, f"{host}:8501") is not None, host
    with pytest.raises(ValueError):
        normalize_domain("http://10.0.0.1:8600")
    assert redirect_uri_for_page(current, "10.0.0.1:8501") is None


def test_the_default_audit_url_is_built_in_one_place(tmp_path):
    assert audit.default_sqlite_url is settings.default_sqlite_url
    env = {
        "AUTH0_DOMAIN": "http://127.0.0.1:8600",
        "AUTH0_CLIENT_ID": "client",
        "AUTH0_CLIENT_SECRET": "s3cr3t-value",
        "DATA_DIR": str(tmp_path / "data"),
    }
    assert load_settings(env, dotenv_path=None).audit_database_url == audit.default_sqlite_url(
        tmp_path / "data"
    )


def test_the_default_audit_file_name_is_written_once():
    root = Path(__file__).resolve().parents[2] / "admin_core"
    places = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value == "audit.sqlite3"
    ]
    assert places == ["settings.py"]
