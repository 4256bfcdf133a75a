"""The sandbox's SMART authorization server: authlib wired to the registered clients, the SQLite stores
and the sandbox signing key. Endpoints: `/auth/authorize` (see authorize.py), `/auth/token`, `/auth/jwks`.
"""
from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from smart.sandbox import authorize, clients, keys, scopes
from smart.sandbox.assertions import JtiStore, PrivateKeyJwt
from smart.sandbox.codes import CodeStore
from smart.sandbox.db import connect, get_db
from smart.sandbox.grants import SandboxUser, SmartCodeGrant, SmartLaunch, SmartOpenIDCode, SmartPkce, SmartRefreshGrant
from smart.sandbox.launches import LaunchStore
from smart.sandbox.tokens import TokenStore

bp = Blueprint("sandbox_oauth", __name__)


def _query_client(client_id: str) -> clients.Client | None:
    return clients.registered().get(client_id)


def _generate_token(grant_type: str, client: Any, user: Any = None, scope: str | None = None,
                    expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
    """Opaque random tokens (RFC 6750); a refresh token only with offline_access or online_access."""
    scope = client.get_allowed_scope(scope) or ""
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": secrets.token_urlsafe(32),
        "expires_in": expires_in or int(current_app.config["SANDBOX_TOKEN_LIFETIME"]),
        "scope": scope,
    }
    if include_refresh_token and scopes.has_refresh(scope):
        token["refresh_token"] = secrets.token_urlsafe(48)
    return token


def _save_token(token: dict[str, Any], request: Any) -> None:
    user: SandboxUser = request.user
    TokenStore(get_db()).save(
        token["access_token"],
        client_id=request.client.client_id,
        scope=token["scope"],
        expires_in=token["expires_in"],
        refresh_token=token.get("refresh_token"),
        patient=user.patient,
        fhir_user=user.fhir_user,
        launch_context=user.context_json(),
        grant_id=user.grant_id,
    )


@bp.post("/token")
def token() -> Response:
    """Token endpoint (RFC 6749 §3.2; SMART §"Step 5" and §"Step 7")."""
    oauth = current_app.extensions["sandbox_oauth"]
    if _unreadable_basic():
        error = InvalidClientError(description="The Basic credentials are not UTF-8 text.", status_code=401)
        return oauth.handle_error_response(None, error)
    return oauth.create_token_response()


def _unreadable_basic() -> bool:
    """HTTP Basic credentials that decode to bytes which are not UTF-8 (RFC 7617 §2.1): authlib would fail on them
    with an exception, so they are refused here as the client authentication failure they are."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        base64.b64decode(value.strip()).decode("utf-8")
    except binascii.Error:
        return False  # not base64 at all: authlib answers invalid_client itself
    except UnicodeDecodeError:
        return True
    return False


@bp.get("/jwks")
def jwks() -> Response:
    """The sandbox's public signing keys, for verifying id_tokens."""
    return jsonify(keys.public_jwks(current_app.extensions["sandbox_signing_key"]))


def init_app(app: Flask) -> None:
    """Load clients and keys, create the OAuth tables, and mount the endpoints under `/auth`."""
    app.extensions["sandbox_clients"] = clients.load(
        app.config["SANDBOX_CLIENTS_FILE"],
        app_base_url=app.config["APP_BASE_URL"],
        sandbox_base_url=app.config["SANDBOX_BASE_URL"],
        production=app.config.get("ENV") == "production",
    )
    app.extensions["sandbox_signing_key"] = keys.signing_key(Path(app.config["INSTANCE_PATH"]))
    database = connect(app.config["SANDBOX_DB_PATH"])
    try:
        for store in (TokenStore, CodeStore, LaunchStore, JtiStore):
            store(database).ensure_schema()
    finally:
        database.conn.close()

    oauth = AuthorizationServer()
    oauth.init_app(app, _query_client, _save_token)
    oauth.register_token_generator("default", _generate_token)
    oauth.register_client_auth_method("private_key_jwt", PrivateKeyJwt())
    oauth.register_grant(SmartCodeGrant, [SmartPkce(required=True), SmartLaunch(), SmartOpenIDCode(require_nonce=False)])
    oauth.register_grant(SmartRefreshGrant)
    app.extensions["sandbox_oauth"] = oauth
    app.register_blueprint(bp, url_prefix="/auth")
    app.register_blueprint(authorize.bp, url_prefix="/auth")
