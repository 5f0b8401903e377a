"""ID token verification refuses every forged or stale token and accepts a good one."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from admin_core.errors import SignInError
from admin_core.tokens import IdTokenVerifier

ISSUER = "https://acme.eu.auth0.com/"
CLIENT_ID = "dashboard"
NONCE = "n-0S6_WzA2Mj"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private_key, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def jwks_url():
    """A real JWKS endpoint on loopback publishing the test key under kid 'k1'."""
    body = json.dumps({"keys": [jwk(KEY, "k1")]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture
def verifier(jwks_url):
    return IdTokenVerifier(jwks_url=jwks_url, issuer=ISSUER, client_id=CLIENT_ID, timeout=3)


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "auth0|0123456789abcdef01234567",
        "iat": now,
        "exp": now + 3600,
        "nonce": NONCE,
        "email": "admin@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, key=KEY, kid="k1", alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_token_is_accepted(verifier):
    got = verifier.verify(sign(claims()), nonce=NONCE)
    assert got["sub"] == "auth0|0123456789abcdef01234567" and got["email"] == "admin@example.com"


def test_clock_skew_within_60_seconds_is_tolerated(verifier):
    now = int(time.time())
    assert verifier.verify(sign(claims(iat=now + 50, exp=now - 50)), nonce=NONCE)


PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def hs256_with_public_key() -> str:
    import hashlib
    import hmac

    header = b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    payload = b64(claims())
    mac = hmac.new(PUBLIC_PEM, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


FORGERIES = {
    "wrong signature": lambda: sign(claims(), key=OTHER_KEY),
    "alg none": lambda: f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{b64(claims())}.",
    "HS256 signed with the public key": hs256_with_public_key,
    "unknown kid": lambda: sign(claims(), kid="not-published"),
    "wrong iss": lambda: sign(claims(iss="https://evil.eu.auth0.com/")),
    "iss without trailing slash": lambda: sign(claims(iss=ISSUER.rstrip("/"))),
    "wrong aud": lambda: sign(claims(aud="another-client")),
    "expired": lambda: sign(claims(exp=int(time.time()) - 120)),
    "iat in the future": lambda: sign(claims(iat=int(time.time()) + 600)),
    "nonce missing": lambda: sign(claims(nonce=None)),
    "nonce different": lambda: sign(claims(nonce="someone-elses")),
    "malformed": lambda: "not.a.jwt",
    "garbage": lambda: "%%%",
    "missing sub": lambda: sign(claims(sub=None)),
    "empty sub": lambda: sign(claims(sub="")),
    "missing exp": lambda: sign(claims(exp=None)),
    "missing iat": lambda: sign(claims(iat=None)),
    "aud a list without azp": lambda: sign(claims(aud=[CLIENT_ID, "another-client"])),
    "aud a list with another azp": lambda: sign(
        claims(aud=[CLIENT_ID, "another-client"], azp="another-client")
    ),
    "azp of another client": lambda: sign(claims(azp="another-client")),
    "issued 15 minutes ago": lambda: sign(claims(iat=int(time.time()) - 900)),
}


@pytest.mark.case("3 hostile sign-in")
@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_or_stale_tokens_are_refused(verifier, name):
    with pytest.raises(SignInError) as caught:
        verifier.verify(FORGERIES[name](), nonce=NONCE)
    assert caught.value.message.startswith("Sign-in failed")


def test_a_session_without_a_nonce_accepts_nothing(verifier):
    with pytest.raises(SignInError):
        verifier.verify(sign(claims(nonce="")), nonce="")


def test_unreachable_jwks_is_a_sign_in_failure_not_a_crash():
    verifier = IdTokenVerifier(
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json", issuer=ISSUER, client_id=CLIENT_ID, timeout=1
    )
    with pytest.raises(SignInError, match="signing keys"):
        verifier.verify(sign(claims()), nonce=NONCE)


AZP_REFUSED = "Sign-in failed: the ID token names another application as its recipient."
TOO_OLD = "Sign-in failed: the ID token was issued more than 10 minutes ago. Sign in again."


def refusal(verifier, token) -> str:
    with pytest.raises(SignInError) as caught:
        verifier.verify(token, nonce=NONCE)
    return caught.value.message


def test_azp_must_be_this_client_when_aud_is_a_list_or_azp_is_present(verifier):
    assert verifier.verify(
        sign(claims(aud=[CLIENT_ID, "https://acme.eu.auth0.com/userinfo"], azp=CLIENT_ID)), nonce=NONCE
    )
    assert verifier.verify(sign(claims(azp=CLIENT_ID)), nonce=NONCE)
    assert refusal(verifier, sign(claims(aud=[CLIENT_ID, "another-client"]))) == AZP_REFUSED
    assert refusal(verifier, sign(claims(aud=[CLIENT_ID]))) == AZP_REFUSED
    assert (
        refusal(verifier, sign(claims(aud=[CLIENT_ID, "another-client"], azp="another-client")))
        == AZP_REFUSED
    )
    assert refusal(verifier, sign(claims(azp="another-client"))) == AZP_REFUSED
    assert refusal(verifier, sign(claims(azp=""))) == AZP_REFUSED


def test_an_id_token_issued_more_than_10_minutes_ago_is_refused(verifier):
    now = int(time.time())
    assert verifier.verify(sign(claims(iat=now - 9 * 60)), nonce=NONCE)
    assert verifier.verify(sign(claims(iat=now - 630)), nonce=NONCE)  # 10.5 min: within the 60 s leeway
    assert refusal(verifier, sign(claims(iat=now - 12 * 60))) == TOO_OLD
    assert refusal(verifier, sign(claims(iat=now - 86400, exp=now + 3600))) == TOO_OLD


class RotatingJwks:
    """A JWKS endpoint on loopback whose published keys a test can change, counting the fetches."""

    def __init__(self, keys: dict):
        self.keys = dict(keys)  # kid -> private key
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.fetches += 1
                body = json.dumps({"keys": [jwk(k, kid) for kid, k in owner.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"


@pytest.fixture
def rotating():
    jwks = RotatingJwks({"k1": KEY})
    yield jwks
    jwks.server.shutdown()
    jwks.server.server_close()


NOT_PUBLISHED = "Sign-in failed: the ID token was signed with a key Auth0 does not publish."


def test_the_jwks_is_fetched_once_per_lifespan(rotating):
    verifier = IdTokenVerifier(jwks_url=rotating.url, issuer=ISSUER, client_id=CLIENT_ID, timeout=3)
    for _ in range(3):
        assert verifier.verify(sign(claims()), nonce=NONCE)
    assert rotating.fetches == 1


def test_a_key_removed_from_the_jwks_is_refused_once_the_lifespan_has_passed(rotating):
    verifier = IdTokenVerifier(
        jwks_url=rotating.url, issuer=ISSUER, client_id=CLIENT_ID, timeout=3, jwks_lifespan=0.2
    )
    assert verifier.verify(sign(claims()), nonce=NONCE)
    rotating.keys = {"k2": OTHER_KEY}  # Auth0 rotated k1 out
    time.sleep(0.3)  # past the lifespan: the next verification fetches the JWKS again
    assert refusal(verifier, sign(claims())) == NOT_PUBLISHED
    assert verifier.verify(sign(claims(), key=OTHER_KEY, kid="k2"), nonce=NONCE)
    assert rotating.fetches == 2
