"""The tenant's RS256 signing key (generated at start), its JWKS, JWT signing/verification, and the
forged ID tokens tests can ask for (``Signer.forge``, see ``FORGERIES``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The kinds of forged ID token the token endpoint can hand out instead of the real one (dev only, for tests
# of the app's verification; asked for through a ``/__dev/faults`` entry with ``"id_token": {"forge": kind}``).
FORGERIES = {
    "wrong_key": "signed by a key the tenant does not publish, under the published kid",
    "unknown_kid": "signed by the tenant's key, under a kid the JWKS does not list",
    "alg_none": "unsigned, header alg none",
    "hs256_public_key": "HS256 with the tenant's public key (PEM) as the HMAC secret",
    "wrong_issuer": "iss of another tenant",
    "wrong_audience": "aud of another application",
    "expired": "exp five minutes ago",
    "not_yet_valid": "iat ten minutes in the future",
    "wrong_nonce": "a nonce other than the one sent to /authorize",
    "no_nonce": "no nonce claim",
    "azp_mismatch": "aud a list naming the client and another application, azp the other one",
    "aud_list_without_azp": "aud a list naming the client and another application, no azp",
    "iat_too_old": "issued 15 minutes ago (still unexpired)",
    "no_sub": "no sub claim",
}
OTHER_AUDIENCE = "another-application"


def b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Signer:
    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        nums = self.public_key.public_numbers()
        self.n, self.e = b64url_uint(nums.n), b64url_uint(nums.e)
        # RFC 7638 thumbprint as the key id
        canon = f'{{"e":"{self.e}","kty":"RSA","n":"{self.n}"}}'.encode()
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(canon).digest()).rstrip(b"=").decode()[:32]

        self._other_key: rsa.RSAPrivateKey | None = None

    def jwks(self) -> dict:
        return {
            "keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e}]
        }

    def sign(self, claims: dict) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"}
        )

    def forge(self, claims: dict, kind: str) -> str:
        """An ID token like ``claims`` but forged or stale the way ``kind`` (one of FORGERIES) says."""
        if kind not in FORGERIES:
            raise ValueError(f"unknown forgery: {kind}")
        claims, t = dict(claims), now()
        header = {"kid": self.kid, "typ": "JWT"}
        if kind == "wrong_key":
            if self._other_key is None:
                self._other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return jwt.encode(claims, self._other_key, algorithm="RS256", headers=header)
        if kind == "unknown_kid":
            return jwt.encode(
                claims, self.private_key, algorithm="RS256", headers={**header, "kid": "not-published"}
            )
        if kind in ("alg_none", "hs256_public_key"):
            alg = "none" if kind == "alg_none" else "HS256"
            signing_input = f"{b64url_json({**header, 'alg': alg})}.{b64url_json(claims)}"
            if kind == "alg_none":
                return signing_input + "."
            pem = self.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
        if kind == "wrong_issuer":
            claims["iss"] = "https://another-tenant.eu.auth0.com/"
        elif kind == "wrong_audience":
            claims["aud"] = OTHER_AUDIENCE
        elif kind == "expired":
            claims.update(iat=t - 400, exp=t - 300)
        elif kind == "not_yet_valid":
            claims.update(iat=t + 600, exp=t + 600 + (claims["exp"] - claims["iat"]))
        elif kind == "wrong_nonce":
            claims["nonce"] = "another-sessions-nonce"
        elif kind == "no_nonce":
            claims.pop("nonce", None)
        elif kind == "azp_mismatch":
            claims.update(aud=[claims["aud"], OTHER_AUDIENCE], azp=OTHER_AUDIENCE)
        elif kind == "aud_list_without_azp":
            claims["aud"] = [claims["aud"], OTHER_AUDIENCE]
        elif kind == "iat_too_old":
            claims["iat"] = t - 900
        elif kind == "no_sub":
            claims.pop("sub", None)
        return self.sign(claims)

    def verify(self, token: str, audience: str, issuer: str) -> dict:
        """Raises jwt.ExpiredSignatureError / jwt.InvalidTokenError."""
        return jwt.decode(
            token,
            self.public_key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub"]},
        )


def b64url_json(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def now() -> int:
    return int(time.time())
