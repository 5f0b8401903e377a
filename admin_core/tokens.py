"""ID token verification with PyJWT: RS256 from the tenant's JWKS, issuer, audience, times, nonce."""

from __future__ import annotations

import hmac
import time

import jwt
from jwt import PyJWKClient

from admin_core.errors import SignInError

LEEWAY_SECONDS = 60  # Clock skew tolerated on exp/iat; Auth0 recommends at most a minute.
MAX_AGE_SECONDS = 600  # An ID token issued longer ago than this (plus the leeway) is not a fresh sign-in.
JWKS_LIFESPAN_SECONDS = 3600  # How long a fetched JWKS, and so every key in it, is trusted without a refetch.
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")


class IdTokenVerifier:
    """Verifies Auth0 ID tokens. One per process: the JWKS is fetched with a timeout and cached.

    Keys are looked up in the cached JWKS on every verification (``cache_keys=False``): PyJWT's per-key
    cache has no expiry, so a key Auth0 rotated out would stay trusted until a restart. The JWKS itself is
    fetched again once ``jwks_lifespan`` seconds have passed (or when a token names a kid it lacks).
    """

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        client_id: str,
        timeout: float,
        jwks_lifespan: float = JWKS_LIFESPAN_SECONDS,
    ):
        self._jwks = PyJWKClient(jwks_url, cache_keys=False, lifespan=jwks_lifespan, timeout=timeout)
        self._issuer = issuer
        self._client_id = client_id

    def prefetch_keys(self) -> None:
        """Fetch the JWKS now (while nobody waits), so the first sign-in's check finds it cached; a failure
        here is left for that check to fetch again and explain."""
        try:
            self._jwks.get_jwk_set()
        except Exception:  # the check itself reports an unreachable or unreadable JWKS in words
            return

    def verify(self, id_token: object, *, nonce: str) -> dict:
        """The token's claims, or SignInError saying why it was refused."""
        if not isinstance(id_token, str) or not id_token:
            raise SignInError("Sign-in failed: Auth0 sent no ID token.")
        try:
            try:
                key = self._jwks.get_signing_key_from_jwt(id_token)
            except (jwt.PyJWKClientError, jwt.InvalidTokenError):
                raise
            except Exception:  # an unreadable JWKS answer (bad JSON, odd shape)
                raise jwt.PyJWKClientConnectionError("unreadable JWKS") from None
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],  # never "none", never HS256 keyed with the public key
                audience=self._client_id,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWKClientConnectionError:
            raise SignInError(
                "Sign-in failed: could not fetch Auth0's signing keys to check the sign-in. Try again."
            ) from None
        except jwt.PyJWKClientError:
            raise SignInError(
                "Sign-in failed: the ID token was signed with a key Auth0 does not publish."
            ) from None
        except jwt.ExpiredSignatureError:
            raise SignInError("Sign-in failed: the ID token has expired. Sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise SignInError(
                "Sign-in failed: the ID token is not valid yet (check this server's clock)."
            ) from None
        except jwt.InvalidAudienceError:
            raise SignInError("Sign-in failed: the ID token was issued for another application.") from None
        except jwt.InvalidIssuerError:
            raise SignInError("Sign-in failed: the ID token comes from another Auth0 tenant.") from None
        except jwt.InvalidTokenError as exc:
            raise SignInError(f"Sign-in failed: the ID token is not valid ({exc}).") from None
        _check_authorized_party(claims, self._client_id)
        _check_age(claims)
        expected = nonce or ""
        got = claims.get("nonce")
        if not expected or not isinstance(got, str) or not hmac.compare_digest(got, expected):
            raise SignInError("Sign-in failed: the sign-in response does not belong to this browser session.")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise SignInError("Sign-in failed: the ID token names no user.")
        return claims


def _check_authorized_party(claims: dict, client_id: str) -> None:
    """OIDC Core 3.1.3.7: with several audiences (aud a list) or an azp claim, azp must be this client."""
    if isinstance(claims.get("aud"), list) or "azp" in claims:
        azp = claims.get("azp")
        if not isinstance(azp, str) or not hmac.compare_digest(azp, client_id):
            raise SignInError("Sign-in failed: the ID token names another application as its recipient.")


def _check_age(claims: dict) -> None:
    """A code is exchanged right after the person signs in: an older ID token is a replayed one."""
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise SignInError("Sign-in failed: the ID token does not say when it was issued.")
    if time.time() - iat > MAX_AGE_SECONDS + LEEWAY_SECONDS:
        raise SignInError("Sign-in failed: the ID token was issued more than 10 minutes ago. Sign in again.")
