"""`private_key_jwt` client authentication: RFC 7523 §3 as profiled by SMART App Launch 2.2,
client-confidential-asymmetric.html (RS384 or ES384, `kid` header, `iss` = `sub` = client_id,
`aud` = token URL, `exp` at most five minutes ahead, `jti` never seen before).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import sqlite_utils
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart.sandbox.db import get_db

ALGORITHMS = ("RS384", "ES384")
MAX_LIFETIME = 300
LEEWAY = 30
TABLE = "oauth_assertion_jtis"


class JtiStore:
    """Seen assertion ids, kept until the assertion could no longer be valid anyway."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            self.db[TABLE].create({"client_id": str, "jti": str, "expires_at": float}, pk=("client_id", "jti"))

    def first_use(self, client_id: str, jti: str, expires_at: float) -> bool:
        """Record the jti; False when this client already used it."""
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where expires_at < ?", [time.time() - LEEWAY])
            cursor = self.db.execute(
                f"insert or ignore into {TABLE} (client_id, jti, expires_at) values (?, ?, ?)",
                [client_id, jti, expires_at],
            )
        return bool(cursor.rowcount)


class PrivateKeyJwt(JWTBearerClientAssertion):
    """Authenticate a client by a JWT it signed with a key from its registered JWKS."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY)

    def get_audiences(self) -> list[str]:
        return [current_app.config["SANDBOX_BASE_URL"] + "/auth/token"]

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> Any:
        form = request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE or not assertion:
            return None
        headers, claims = self.extract_assertion(assertion)
        client_id = claims.get("sub")
        if not isinstance(client_id, str) or not query_client(client_id):
            raise InvalidClientError(description="Unknown client in the assertion's 'sub'.")
        client = query_client(client_id)
        if form.get("client_id") not in (None, client_id):
            raise InvalidClientError(description="client_id does not match the assertion.")
        if headers.get("alg") not in ALGORITHMS:
            raise InvalidClientError(description="The assertion must be signed with RS384 or ES384.")
        if not headers.get("kid"):
            raise InvalidClientError(description="The assertion header needs a 'kid'.")
        request.client = client
        key = self._key(client, headers["kid"])
        try:
            token = jwt.decode(assertion, key, algorithms=list(ALGORITHMS))
        except JoseError as exc:
            raise InvalidClientError(description="The assertion's signature does not verify.") from exc
        self.verify_claims(token.claims)
        return self.authenticate_client(client)

    def verify_claims(self, claims: jwt.Claims) -> None:
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and exp > time.time() + MAX_LIFETIME + LEEWAY:
            raise InvalidClientError(description="The assertion's 'exp' is more than five minutes ahead.")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return JtiStore(get_db()).first_use(claims["sub"], str(jti), float(claims["exp"]))

    @staticmethod
    def _key(client: Any, kid: str) -> Any:
        """The client's key with this kid; a jwks_uri is fetched again once when the kid is new."""
        try:
            keys: KeySet = client.public_keys()
            if kid not in {k.kid for k in keys}:
                keys = client.public_keys(refresh=True)
            return keys.get_by_kid(kid)
        except JoseError as exc:
            raise InvalidClientError(description="No registered key matches the assertion's 'kid'.") from exc
