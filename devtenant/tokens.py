"""The tenant's RS256 signing key (generated at start), its JWKS, and JWT signing/verification."""

from __future__ import annotations

import base64
import hashlib
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


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

    def jwks(self) -> dict:
        return {
            "keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e}]
        }

    def sign(self, claims: dict) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"}
        )

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


def now() -> int:
    return int(time.time())
