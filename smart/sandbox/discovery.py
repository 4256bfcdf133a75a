"""Discovery documents under `/fhir/.well-known`: SMART configuration (SMART App Launch 2.2,
conformance.html §"Using .well-known") and OpenID provider metadata (OpenID Connect Discovery 1.0 §3).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from smart.sandbox.assertions import ALGORITHMS

bp = Blueprint("sandbox_discovery", __name__)

CAPABILITIES = [
    "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "sso-openid-connect", "context-ehr-patient", "context-standalone-patient",
    "context-passthrough-banner", "context-passthrough-style", "permission-v1", "permission-v2",
    "permission-patient", "permission-user", "permission-offline",
]
SCOPES = [
    "openid", "fhirUser", "launch", "launch/patient", "online_access", "offline_access",
    "patient/*.rs", "user/*.rs", "patient/*.read", "user/*.read",
    "patient/Observation.rs", "patient/Patient.rs", "user/Practitioner.rs",
]
AUTH_METHODS = ["client_secret_basic", "private_key_jwt", "none"]


def _endpoints() -> dict[str, str]:
    origin = current_app.config["SANDBOX_BASE_URL"]
    return {
        "issuer": current_app.config["FHIR_BASE_URL"],
        "jwks_uri": f"{origin}/auth/jwks",
        "authorization_endpoint": f"{origin}/auth/authorize",
        "token_endpoint": f"{origin}/auth/token",
    }


@bp.get("/smart-configuration")
def smart_configuration() -> Response:
    body: dict[str, Any] = {
        **_endpoints(),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }
    return _public(jsonify(body))


@bp.get("/openid-configuration")
def openid_configuration() -> Response:
    body: dict[str, Any] = {
        **_endpoints(),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }
    return _public(jsonify(body))


def _public(response: Response) -> Response:
    """Discovery is read by browser apps too (SMART: served with CORS)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
