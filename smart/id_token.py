"""Validation of the OpenID Connect `id_token` that says who launched the app.

OpenID Connect Core 1.0 §3.1.3.7 as profiled by SMART App Launch 2.2 "Scopes for requesting identity data":
signature checked against the server's JWKS (refetched once for an unknown `kid`, i.e. after key rotation),
`iss` equal to the server's issuer, our client id in `aud`, `exp` in the future, and our `nonce`.
"""
from __future__ import annotations

from typing import Any, Callable

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from app.errors import IdTokenInvalid

# RS256 is the algorithm SMART servers must support; the others are accepted, never "none" or HMAC.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES384"]
LEEWAY = 60


def validate(
    id_token: str,
    *,
    load_jwks: Callable[[bool], dict[str, Any]],
    issuer: str,
    client_id: str,
    nonce: str,
) -> dict[str, Any]:
    """The verified claims; raises IdTokenInvalid naming what failed. `load_jwks(force)` gives the JWKS."""
    if not isinstance(id_token, str) or not id_token:
        raise IdTokenInvalid("missing")
    try:
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(load_jwks(False)), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, KeySet.import_key_set(load_jwks(True)), algorithms=ALGORITHMS)
    except InvalidKeyIdError as exc:
        raise IdTokenInvalid("kid") from exc
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid("signature") from exc
    claims = dict(token.claims)
    registry = JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise IdTokenInvalid(str(getattr(exc, "claim", "") or exc.description or exc.error)) from exc
    return claims
