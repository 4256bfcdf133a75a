"""Test helpers for SMART clients: key pairs, signed client assertions (RFC 7523) and PKCE pairs (RFC 7636)."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": kid, "use": "sig"})


def public_jwks(*keys: RSAKey | ECKey) -> dict[str, Any]:
    return KeySet(list(keys)).as_dict(private=False)


def client_assertion(key: RSAKey | ECKey, client_id: str, token_url: str, *, alg: str | None = None,
                     header: dict[str, Any] | None = None, **claims: Any) -> str:
    """A signed client assertion; keyword arguments replace (or, when None, drop) claims."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": token_url, "exp": now + 240,
                            "iat": now, "jti": secrets.token_urlsafe(16)}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    algorithm = alg or ("RS384" if isinstance(key, RSAKey) else "ES384")
    return jwt.encode({"alg": algorithm, "kid": key.kid, **(header or {})}, body, key, algorithms=[algorithm])


def pkce_pair() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
