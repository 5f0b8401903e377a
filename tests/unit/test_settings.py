"""Settings: one object, every problem named with the variable and what to put there."""

import re
from pathlib import Path

import pytest

from admin_core.settings import SETTINGS, SettingsError, load_settings, normalize_domain

GOOD = {
    "AUTH0_DOMAIN": "acme.eu.auth0.com",
    "AUTH0_CLIENT_ID": "abc123",
    "AUTH0_CLIENT_SECRET": "s3cr3t-value",
}
ROOT = Path(__file__).resolve().parents[2]


def load(**overrides):
    return load_settings({**GOOD, **overrides}, dotenv_path=None)


def problems(**overrides) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(**overrides)
    return caught.value.problems


def test_minimal_settings_fill_in_documented_defaults():
    s = load()
    assert s.auth0_url == "https://acme.eu.auth0.com"
    assert s.issuer == "https://acme.eu.auth0.com/"
    assert s.mgmt_client_id == "abc123" and s.mgmt_client_secret == "s3cr3t-value"
    assert s.app_url == "http://localhost:8501"
    assert s.redirect_uri == "http://localhost:8501/component/streamlit_oauth.authorize_button/index.html"
    assert (s.admin_role, s.viewer_role) == ("User Admin", "User Viewer")
    assert s.audit_database_url == "sqlite:///data/audit.sqlite3"
    assert s.management_audience == "https://acme.eu.auth0.com/api/v2/"
    assert not s.is_dev_tenant


@pytest.mark.parametrize(
    "raw",
    ["acme.eu.auth0.com", "https://acme.eu.auth0.com/", "https://acme.eu.auth0.com", " ACME.eu.auth0.com "],
)
def test_domain_is_normalised_from_what_people_paste(raw):
    assert load(AUTH0_DOMAIN=raw).auth0_url == "https://acme.eu.auth0.com"


@pytest.mark.parametrize("raw", ["http://127.0.0.1:8600", "http://localhost:8600/", "http://[::1]:8600"])
def test_plain_http_is_accepted_on_loopback_for_the_dev_tenant(raw):
    s = load(AUTH0_DOMAIN=raw)
    assert s.auth0_url.startswith("http://") and s.is_dev_tenant
    assert s.management_api_url == s.auth0_url + "/api/v2"


@pytest.mark.parametrize("raw", ["http://acme.eu.auth0.com", "http://10.0.0.5:8600", "http://auth.internal"])
def test_plain_http_is_refused_for_any_other_host(raw):
    (problem,) = problems(AUTH0_DOMAIN=raw)
    assert problem.startswith("AUTH0_DOMAIN") and "plain http is refused" in problem


@pytest.mark.parametrize("raw", ["ftp://acme.auth0.com", "https://acme.auth0.com/api/v2", "https://"])
def test_unusable_domains_are_explained(raw):
    (problem,) = problems(AUTH0_DOMAIN=raw)
    assert problem.startswith(f"AUTH0_DOMAIN {raw!r} is not usable")


def test_each_missing_required_value_is_named_with_what_to_put_there():
    with pytest.raises(SettingsError) as caught:
        load_settings({}, dotenv_path=None)
    error = caught.value
    assert [p.split(" ")[0] for p in error.problems] == [
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
    ]
    assert all("is missing:" in p for p in error.problems)
    assert error.nothing_configured
    assert "AUTH0_CLIENT_SECRET is missing" in error.message and ".env.example" in error.message


@pytest.mark.parametrize(
    "name,value",
    [
        ("AUTH0_DOMAIN", "your-tenant.eu.auth0.com"),
        ("AUTH0_CLIENT_ID", "your-client-id"),
        ("AUTH0_CLIENT_SECRET", "your-client-secret"),
        ("AUTH0_CLIENT_SECRET", "<secret>"),
        ("AUTH0_CLIENT_SECRET", "changeme"),
    ],
)
def test_placeholders_left_from_env_example_are_refused(name, value):
    found = problems(**{name: value})
    assert found == [
        f"{name} still holds the placeholder {value!r}: " + next(s.help for s in SETTINGS if s.name == name)
    ]


def test_a_real_secret_containing_placeholder_like_text_is_accepted():
    assert load(AUTH0_CLIENT_SECRET="aXxxxTodo-your-changeme9").client_secret == "aXxxxTodo-your-changeme9"


def test_empty_values_fall_back_to_defaults_and_mgmt_client_can_differ():
    s = load(APP_URL="", AUTH0_MGMT_CLIENT_ID="m2m", AUTH0_MGMT_CLIENT_SECRET="m2m-secret", ADMIN_ROLE="")
    assert s.app_url == "http://localhost:8501"
    assert (s.mgmt_client_id, s.mgmt_client_secret) == ("m2m", "m2m-secret")
    assert s.admin_role == "User Admin"


@pytest.mark.parametrize(
    "name,value",
    [("APP_URL", "localhost:8501"), ("AUTH0_TIMEOUT_SECONDS", "soon"), ("AUTH0_MAX_RETRIES", "-1")],
)
def test_bad_optional_values_are_named(name, value):
    (problem,) = problems(**{name: value})
    assert problem.startswith(f"{name} {value!r} is not usable")


def test_several_problems_are_reported_together():
    found = problems(AUTH0_DOMAIN="http://example.com", AUTH0_CLIENT_ID="", APP_URL="nope")
    assert {p.split(" ")[0] for p in found} == {"AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "APP_URL"}


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "AUTH0_DOMAIN=file.eu.auth0.com\nAUTH0_CLIENT_ID=from-file\nAUTH0_CLIENT_SECRET=file-secret\n"
    )
    s = load_settings({"AUTH0_CLIENT_ID": "from-env"}, dotenv_path=env_file)
    assert (s.auth0_url, s.client_id, s.client_secret) == (
        "https://file.eu.auth0.com",
        "from-env",
        "file-secret",
    )


def test_secrets_do_not_appear_in_the_settings_repr():
    assert "s3cr3t-value" not in repr(load())


def test_logout_url_returns_to_the_app():
    assert load().logout_url() == (
        "https://acme.eu.auth0.com/v2/logout?client_id=abc123&returnTo=http%3A%2F%2Flocalhost%3A8501"
    )


def test_normalize_domain_keeps_port_for_loopback():
    assert normalize_domain("http://127.0.0.1:8600/") == "http://127.0.0.1:8600"


def test_every_setting_is_documented_in_env_example_and_readme():
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for spec in SETTINGS:
        assert re.search(rf"^{spec.name}=", example, re.M), f"{spec.name} missing from .env.example"
        assert f"`{spec.name}`" in readme, f"{spec.name} missing from the README's configuration table"


def test_nothing_but_settings_reads_the_environment():
    for path in (ROOT / "admin_core").rglob("*.py"):
        if path.name != "settings.py":
            text = path.read_text()
            assert "os.environ" not in text and "getenv" not in text, path


def test_session_limits_default_to_8_hours_and_30_minutes():
    s = load()
    assert (s.session_max_hours, s.session_idle_minutes) == (8.0, 30.0)
    s = load(SESSION_MAX_HOURS="12", SESSION_IDLE_MINUTES="7.5")
    assert (s.session_max_hours, s.session_idle_minutes) == (12.0, 7.5)


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("SESSION_MAX_HOURS", "0", "SESSION_MAX_HOURS '0' is not usable: give a number of hours greater than 0, e.g. 8."),
        ("SESSION_MAX_HOURS", "-3", "SESSION_MAX_HOURS '-3' is not usable: give a number of hours greater than 0, e.g. 8."),
        ("SESSION_MAX_HOURS", "a day", "SESSION_MAX_HOURS 'a day' is not usable: give a number of hours greater than 0, e.g. 8."),
        ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES '0' is not usable: give a number of minutes greater than 0, e.g. 30."),
        ("SESSION_IDLE_MINUTES", "nan", "SESSION_IDLE_MINUTES 'nan' is not usable: give a number of minutes greater than 0, e.g. 30."),
        ("SESSION_IDLE_MINUTES", "inf", "SESSION_IDLE_MINUTES 'inf' is not usable: give a number of minutes greater than 0, e.g. 30."),
    ],
)  # fmt: skip
def test_session_limits_must_be_positive_numbers(name, value, expected):
    assert problems(**{name: value}) == [expected]


def test_avatar_hosts_default_to_the_common_avatar_hosts_plus_the_tenant():
    assert load().avatar_hosts == (
        "s.gravatar.com",
        "secure.gravatar.com",
        "www.gravatar.com",
        "gravatar.com",
        "*.googleusercontent.com",
        "avatars.githubusercontent.com",
        "platform-lookaside.fbsbx.com",
        "cdn.auth0.com",
        "acme.eu.auth0.com",
    )
    dev = load(AUTH0_DOMAIN="http://127.0.0.1:8600", AVATAR_HOSTS=" Pics.Example.com , *.cdn.example:8443,")
    assert dev.avatar_hosts == ("pics.example.com", "*.cdn.example:8443", "127.0.0.1:8600")
    assert load(AVATAR_HOSTS="none").avatar_hosts == ("acme.eu.auth0.com",)


@pytest.mark.parametrize("entry", ["https://s.gravatar.com", "s.gravatar.com/avatar", "evil example", "*"])
def test_avatar_hosts_refuse_urls_paths_and_wildcards(entry):
    assert problems(AVATAR_HOSTS=f"s.gravatar.com,{entry}") == [
        f"AVATAR_HOSTS entry {entry!r} is not usable: give host names such as s.gravatar.com, host:port, "
        "or *.googleusercontent.com, separated by commas (no scheme, no path)."
    ]


def test_proxy_headers_are_trusted_only_when_asked():
    assert load().trust_proxy_headers is False
    assert load(TRUST_PROXY_HEADERS="true").trust_proxy_headers is True
    assert load(TRUST_PROXY_HEADERS="off").trust_proxy_headers is False
    assert problems(TRUST_PROXY_HEADERS="maybe") == [
        "TRUST_PROXY_HEADERS 'maybe' is not usable: give true or false."
    ]


def test_the_callback_host_comes_from_x_forwarded_host_only_behind_a_trusted_proxy():
    from admin_core.auth import request_host

    headers = {"Host": "localhost:8501", "X-Forwarded-Host": "evil.example, localhost:8501"}
    assert request_host(headers, trust_proxy_headers=False) == "localhost:8501"
    assert request_host(headers, trust_proxy_headers=True) == "evil.example"
    assert request_host({"Host": "localhost:8501"}, trust_proxy_headers=True) == "localhost:8501"
    assert request_host({}, trust_proxy_headers=False) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://s.gravatar.com/avatar/0a1b?d=identicon", True),
        ("https://S.Gravatar.com:443/avatar/1", True),
        ("https://lh3.googleusercontent.com/a/x=s96-c", True),
        ("http://127.0.0.1:8600/avatars/1.svg", True),
        ("https:avatar.png", False),  # a scheme and no host
        ("//s.gravatar.com/avatar/1", False),
        ("https://googleusercontent.com/a", False),  # `*.` means subdomains only
        ("https://s.gravatar.com:8443/avatar/1", False),
        ("http://127.0.0.1:9999/track", False),
        ("https://evil.example\\.s.gravatar.com/a.png", False),  # the browser reads `\` as `/`
        ("https://evil.example\t.s.gravatar.com/a.png", False),
        ("https://user@s.gravatar.com/a.png", False),
        ("https://s.gravatar.com.evil.example/a.png", False),
        ("javascript:alert(1)", False),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
        (None, False),
    ],
)
def test_pictures_are_allowed_only_on_the_listed_hosts(url, allowed):
    from admin_core.ui.cards import allowed_picture

    hosts = ("s.gravatar.com", "*.googleusercontent.com", "127.0.0.1:8600")
    assert allowed_picture(url, hosts) == (url if allowed else None)


def test_claim_and_drain_seconds_have_defaults_and_bounds():
    s = load()
    assert (s.change_claim_seconds, s.shutdown_drain_seconds) == (120.0, 20.0)
    s = load(CHANGE_CLAIM_SECONDS="30", SHUTDOWN_DRAIN_SECONDS="0")
    assert (s.change_claim_seconds, s.shutdown_drain_seconds) == (30.0, 0.0)
    assert [p.split(" ")[0] for p in problems(CHANGE_CLAIM_SECONDS="1", SHUTDOWN_DRAIN_SECONDS="soon")] == [
        "CHANGE_CLAIM_SECONDS",
        "SHUTDOWN_DRAIN_SECONDS",
    ]
    (problem,) = problems(CHANGE_CLAIM_SECONDS="0")
    assert problem.startswith("CHANGE_CLAIM_SECONDS '0' is not usable: give a number of seconds from 5")
