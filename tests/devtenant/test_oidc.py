"""OIDC sign-in through the HTML form with httpx (a browser stand-in), ID tokens checked with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier
from cryptography.hazmat.primitives import serialization

REDIRECT = "http://localhost:8501/component/streamlit_oauth.authorize_button/index.html"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id="dashboard", redirect_uri=REDIRECT, challenge=None, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def submit_form(browser: httpx.Client, page: httpx.Response, email: str, password: str) -> httpx.Response:
    """Fill in and post the sign-in form like a browser would."""
    text = page.text
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', text).group(1))
    fields = {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text)
    }
    assert 'name="email"' in text and 'name="password"' in text and ">Continue</button>" in text
    fields.update(email=email, password=password)
    return browser.post(action, data=fields)


def code_from(response: httpx.Response, params: dict) -> str:
    assert response.status_code == 302, response.text
    loc = response.headers["location"]
    assert loc.startswith(params["redirect_uri"] + "?")
    query = parse_qs(urlsplit(loc).query)
    assert query["state"] == [params["state"]]
    return query["code"][0]


@pytest.fixture
def browser(dt):
    with httpx.Client(base_url=dt.base_url, follow_redirects=False, timeout=10, trust_env=False) as c:
        yield c


def sign_in(browser, email="admin@example.com", password="devtenant", **kw) -> tuple[str, dict]:  # noqa: S107
    browser.cookies.clear()  # a fresh browser: no SSO session
    params = authorize_params(**kw)
    page = browser.get("/authorize", params=params)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    return code_from(submit_form(browser, page, email, password), params), params


def test_discovery_and_jwks(dt, http):
    conf = http.get("/.well-known/openid-configuration").json()
    assert conf["issuer"] == f"{dt.base_url}/"
    assert conf["authorization_endpoint"] == f"{dt.base_url}/authorize"
    assert conf["token_endpoint"] == f"{dt.base_url}/oauth/token"
    assert conf["jwks_uri"] == f"{dt.base_url}/.well-known/jwks.json"
    assert conf["end_session_endpoint"] == f"{dt.base_url}/oidc/logout"
    key = http.get("/.well-known/jwks.json").json()["keys"][0]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256" and key["kid"] and key["n"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_full_login_with_pkce(dt, browser, auth_method):
    verifier, challenge = pkce_pair()
    code, params = sign_in(browser, challenge=challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    if auth_method == "client_secret_basic":
        r = httpx.post(f"{dt.base_url}/oauth/token", data=form, auth=("dashboard", "dashboard-secret"))
    else:
        r = httpx.post(
            f"{dt.base_url}/oauth/token",
            data={**form, "client_id": "dashboard", "client_secret": "dashboard-secret"},
        )
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "Bearer" and {"access_token", "id_token", "scope", "expires_in"} <= set(
        tokens
    )

    signing_key = jwt.PyJWKClient(f"{dt.base_url}/.well-known/jwks.json", timeout=5).get_signing_key_from_jwt(
        tokens["id_token"]
    )
    claims = jwt.decode(
        tokens["id_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience="dashboard",
        issuer=f"{dt.base_url}/",
    )
    admin = next(u for u in dt.users() if u["email"] == "admin@example.com")
    assert claims["sub"] == admin["user_id"] and claims["nonce"] == params["nonce"]
    assert claims["email"] == "admin@example.com" and claims["name"] == "Ada Admin"
    assert claims["exp"] - claims["iat"] == 36000 and claims["sid"] and claims["email_verified"] is True
    assert "picture" in claims and "updated_at" in claims

    # auth0-python's own verifier agrees
    TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{dt.base_url}/.well-known/jwks.json"),
        issuer=f"{dt.base_url}/",
        audience="dashboard",
    ).verify(tokens["id_token"], nonce=params["nonce"])

    info = httpx.get(f"{dt.base_url}/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.json()["sub"] == admin["user_id"] and info.json()["email"] == "admin@example.com"
    assert dt.stats()["token_grants"]["authorization_code"] == 1


def test_login_updates_login_count(dt, browser):
    before = next(u for u in dt.users() if u["email"] == "viewer@example.com")
    sign_in(browser, email="viewer@example.com")
    after = next(u for u in dt.users() if u["email"] == "viewer@example.com")
    assert after["logins_count"] == before["logins_count"] + 1 and after["last_login"] > before["last_login"]


def exchange(dt, code, verifier=None, client=("dashboard", "dashboard-secret"), redirect_uri=REDIRECT):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        form["code_verifier"] = verifier
    return httpx.post(f"{dt.base_url}/oauth/token", data=form, auth=client)


def test_code_is_single_use(dt, browser):
    code, _ = sign_in(browser)
    assert exchange(dt, code).status_code == 200
    again = exchange(dt, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}


def test_code_bound_to_client_and_redirect(dt, browser):
    code, _ = sign_in(browser)
    assert (
        exchange(dt, code, client=("fixed-callback", "fixed-callback-secret")).json()["error"]
        == "invalid_grant"
    )
    code, _ = sign_in(browser)
    assert exchange(dt, code, redirect_uri="http://localhost:9999/other").json()["error"] == "invalid_grant"
    code, _ = sign_in(browser)
    wrong = exchange(dt, code, client=("dashboard", "nope"))
    assert wrong.status_code == 401 and wrong.json() == {
        "error": "access_denied",
        "error_description": "Unauthorized",
    }


def test_wrong_pkce_verifier(dt, browser):
    verifier, challenge = pkce_pair()
    code, _ = sign_in(browser, challenge=challenge)
    r = exchange(dt, code, verifier="x" * 50)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    code, _ = sign_in(browser, challenge=challenge)
    assert exchange(dt, code).status_code == 400  # verifier missing


def test_wrong_password_and_unknown_email(browser):
    params = authorize_params()
    page = browser.get("/authorize", params=params)
    for email, password in (("admin@example.com", "wrong"), ("ghost@example.com", "devtenant")):
        r = submit_form(browser, page, email, password)
        assert r.status_code in (200, 401) and "location" not in r.headers
        assert "Wrong email or password." in r.text
    # an empty password is wrong too
    assert "Wrong email or password." in submit_form(browser, page, "viewer@example.com", "").text


def test_blocked_user_refused(dt, browser):
    dt.create_user(email="blocked@example.com", password="pw-123", blocked=True)
    params = authorize_params()
    r = submit_form(browser, browser.get("/authorize", params=params), "blocked@example.com", "pw-123")
    assert "Your account is blocked." in r.text and r.status_code != 302 and "code=" not in r.text
    dt.create_user(email="ok@example.com", password="pw-123")
    code, _ = sign_in(browser, email="ok@example.com", password="pw-123")
    assert exchange(dt, code).status_code == 200


@pytest.mark.parametrize(
    "client_id, redirect_uri",
    [
        ("dashboard", "https://evil.example.com/cb"),
        ("dashboard", "http://localhost.evil.com:8501/cb"),
        ("fixed-callback", REDIRECT),
    ],
)
def test_callback_mismatch_is_an_error_page(browser, client_id, redirect_uri):
    r = browser.get("/authorize", params=authorize_params(client_id=client_id, redirect_uri=redirect_uri))
    assert r.status_code == 400 and "location" not in r.headers
    assert "Callback URL mismatch" in r.text


def test_fixed_callback_client_accepts_its_url(dt, browser):
    fixed = "https://admin.example.com/component/streamlit_oauth.authorize_button/index.html"
    code, _ = sign_in(browser, client_id="fixed-callback", redirect_uri=fixed)
    assert (
        exchange(dt, code, client=("fixed-callback", "fixed-callback-secret"), redirect_uri=fixed).status_code
        == 200
    )


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "S512", "code_challenge": "x"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
    ],
)
def test_bad_requests_go_back_to_the_callback_with_an_error(browser, extra, error):
    """Both /authorize and the form post refuse them, with the error sent to the (trusted) redirect_uri."""
    params = authorize_params(**extra)
    form = {**params, "email": "admin@example.com", "password": "devtenant"}
    for r in (browser.get("/authorize", params=params), browser.post("/u/login", data=form)):
        assert r.status_code == 302, r.text
        location = r.headers["location"]
        assert location.startswith(REDIRECT + "?") and "code=" not in location
        query = parse_qs(urlsplit(location).query)
        assert query["error"] == [error] and query["state"] == [params["state"]]


def test_unknown_client_error_page(browser):
    r = browser.get("/authorize", params=authorize_params(client_id="ghost"))
    assert r.status_code == 400 and "location" not in r.headers and "Unknown client" in r.text


def test_sso_cookie_and_logout(dt, browser):
    sign_in(browser)
    params = authorize_params(redirect_uri="http://127.0.0.1:8502/cb")
    again = browser.get("/authorize", params=params)
    code = code_from(again, params)  # no form the second time
    assert exchange(dt, code, redirect_uri="http://127.0.0.1:8502/cb").status_code == 200

    out = browser.get("/v2/logout", params={"client_id": "dashboard", "returnTo": "http://localhost:8501/"})
    assert out.status_code == 302 and out.headers["location"] == "http://localhost:8501/"
    browser.cookies.clear()  # httpx keeps the deleted cookie's old value only if the server did not expire it
    assert browser.get("/authorize", params=authorize_params()).status_code == 200


def test_logout_clears_server_side_session(dt, browser):
    sign_in(browser)
    cookies = dict(browser.cookies)
    browser.get(
        "/oidc/logout",
        params={"client_id": "dashboard", "post_logout_redirect_uri": "http://localhost:8501/"},
    )
    # even a browser that kept the old cookie gets the form again
    with httpx.Client(base_url=dt.base_url, cookies=cookies, trust_env=False) as stale:
        assert stale.get("/authorize", params=authorize_params()).status_code == 200
    page = browser.get("/oidc/logout", params={"post_logout_redirect_uri": "https://evil.example.com/"})
    assert page.status_code == 200 and "You are logged out" in page.text


def test_no_grant_client_can_sign_in(dt, browser):
    code, _ = sign_in(browser, client_id="no-grant")
    assert exchange(dt, code, client=("no-grant", "no-grant-secret")).status_code == 200


def test_avatar_is_served(dt, http):
    pic = next(u["picture"] for u in dt.users() if u["email"] == "admin@example.com")
    r = http.get(pic)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and ">AA<" in r.text


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_httpx_oauth_exchange(dt, browser, method):
    """The exchange streamlit-oauth does (httpx-oauth), against a code from the real form."""
    import asyncio

    from httpx_oauth.oauth2 import OAuth2

    verifier, challenge = pkce_pair()
    code, _ = sign_in(browser, challenge=challenge)
    client = OAuth2(
        "dashboard",
        "dashboard-secret",
        f"{dt.base_url}/authorize",
        f"{dt.base_url}/oauth/token",
        token_endpoint_auth_method=method,
    )
    token = asyncio.run(client.get_access_token(code, REDIRECT, code_verifier=verifier))
    assert token["token_type"] == "Bearer" and token["id_token"] and not token.is_expired()


# --- forged ID tokens on request (/__dev/faults with "id_token") ---------------------------------------
JWKS_PATH = "/.well-known/jwks.json"
REFUSED_BY_PYJWT = {
    "wrong_key": jwt.InvalidSignatureError,
    "unknown_kid": jwt.PyJWKClientError,
    "alg_none": jwt.InvalidAlgorithmError,
    "hs256_public_key": jwt.InvalidAlgorithmError,
    "wrong_issuer": jwt.InvalidIssuerError,
    "wrong_audience": jwt.InvalidAudienceError,
    "expired": jwt.ExpiredSignatureError,
    "not_yet_valid": jwt.ImmatureSignatureError,
    "no_sub": jwt.MissingRequiredClaimError,
}


def exchanged_id_token(dt, browser) -> tuple[str, dict]:
    code, params = sign_in(browser)
    answer = exchange(dt, code)
    assert answer.status_code == 200, answer.text
    assert {"access_token", "id_token", "scope", "expires_in", "token_type"} <= set(answer.json())
    return answer.json()["id_token"], params


def checked(dt, id_token: str) -> dict:
    key = jwt.PyJWKClient(f"{dt.base_url}{JWKS_PATH}", timeout=5).get_signing_key_from_jwt(id_token)
    return jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience="dashboard",
        issuer=f"{dt.base_url}/",
        options={"require": ["exp", "iat", "sub"]},
    )


@pytest.mark.parametrize("kind", sorted(REFUSED_BY_PYJWT))
def test_a_forged_id_token_on_request_is_refused_by_pyjwt(dt, browser, kind):
    dt.add_fault(path="/oauth/token", id_token={"forge": kind})
    forged, _ = exchanged_id_token(dt, browser)
    with pytest.raises(REFUSED_BY_PYJWT[kind]):
        checked(dt, forged)
    assert dt.faults() == []  # used up by that one exchange
    real, _ = exchanged_id_token(dt, browser)
    assert checked(dt, real)["email"] == "admin@example.com"


def test_forged_claims_on_request(dt, browser):
    expected = {
        "wrong_nonce": lambda c, p: c["nonce"] == "another-sessions-nonce" != p["nonce"],
        "no_nonce": lambda c, p: "nonce" not in c,
        "azp_mismatch": lambda c, p: (
            c["aud"] == ["dashboard", "another-application"] and c["azp"] == "another-application"
        ),
        "aud_list_without_azp": lambda c, p: (
            c["aud"] == ["dashboard", "another-application"] and "azp" not in c
        ),
        "iat_too_old": lambda c, p: c["exp"] - c["iat"] == 36000 + 900 and c["iat"] <= time.time() - 900,
    }
    for kind, holds in expected.items():
        dt.add_fault(path="/oauth/token", id_token={"forge": kind})
        forged, params = exchanged_id_token(dt, browser)
        assert holds(checked(dt, forged), params), kind


def test_the_hs256_forgery_is_keyed_with_the_published_public_key(dt, browser):
    """A real key-confusion token: its HMAC verifies with the JWKS key as PEM (what a naive verifier does)."""
    dt.add_fault(path="/oauth/token", id_token={"forge": "hs256_public_key"})
    forged, _ = exchanged_id_token(dt, browser)
    pem = (
        jwt.PyJWKClient(f"{dt.base_url}{JWKS_PATH}")
        .get_signing_keys()[0]
        .key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header, payload, signature = forged.split(".")
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == signature
    assert jwt.get_unverified_header(forged)["alg"] == "HS256"


def test_a_forgery_is_used_only_by_a_token_response_with_an_id_token(dt, browser, http):
    dt.add_fault(path="/oauth/token", id_token={"forge": "wrong_audience"}, times=2)
    cc = http.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "dashboard",
            "client_secret": "dashboard-secret",
            "audience": dt.api_audience,
        },
    )
    assert cc.status_code == 200 and "id_token" not in cc.json()
    assert [f["times"] for f in dt.faults()] == [2]  # a client-credentials grant passes it by
    for left in ([1], []):
        forged, _ = exchanged_id_token(dt, browser)
        assert jwt.decode(forged, options={"verify_signature": False})["aud"] == "another-application"
        assert [f["times"] for f in dt.faults()] == left
    dt.add_fault(path="/oauth/token", id_token={"forge": "expired"})
    dt.reset()
    assert dt.faults() == []
