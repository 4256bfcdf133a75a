"""Client authentication at the token endpoint, per registered EHR.

`private_key_jwt`: a signed client assertion (RFC 7523 §2.2 and §3; SMART App Launch 2.2 "Client Authentication:
Asymmetric (public key)"): header `alg` RS384 or ES384, `kid`, `typ: JWT`; claims `iss` = `sub` = client_id,
`aud` = the token endpoint URL, `exp` at most five minutes ahead, a unique `jti`. Signed with joserfc.
A shared secret (`client_secret_basic`/`_post`) or a public client (`none`) only where an EHR requires it.
"""
from __future__ import annotations

import secrets
import time
from typing import Any, Callable

from joserfc import jwt

from smart.keys import AppKeys
from smart.registry import Registration

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 300  # SMART: "exp ... no more than five minutes in the future"

AuthHook = Callable[[Any, str, str, dict[str, str], str], tuple[str, dict[str, str], str]]


def client_assertion(keys: AppKeys, *, alg: str, client_id: str, token_url: str, lifetime: int = MAX_LIFETIME) -> str:
    """A fresh signed JWT that authenticates the app to `token_url`."""
    key = keys.signing_key(alg)
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + min(lifetime, MAX_LIFETIME),
        "jti": secrets.token_urlsafe(32),
    }
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[alg])


def assertion_params(keys: AppKeys, registration: Registration, token_url: str) -> dict[str, str]:
    """The form parameters that carry the assertion (RFC 7521 §4.2)."""
    return {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(
            keys, alg=registration.signing_alg, client_id=registration.client_id, token_url=token_url
        ),
    }


def private_key_jwt(keys: AppKeys, registration: Registration) -> AuthHook:
    """An authlib client-auth hook that adds a new assertion to each token request body."""
    from authlib.common.urls import add_params_to_qs

    def sign(_client: Any, _method: str, uri: str, headers: dict[str, str], body: str) -> tuple[str, dict[str, str], str]:
        token_url = uri.split("?", 1)[0]
        body = add_params_to_qs(body or "", list(assertion_params(keys, registration, token_url).items()))
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(body))
        return uri, headers, body

    return sign
