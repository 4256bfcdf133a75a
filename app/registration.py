"""What the app publishes for EHR vendors: `GET /registration` (a page, or JSON by content negotiation) and
`GET /registration.json`: everything an integrator registers on the EHR side.

Field names follow OAuth 2.0 Dynamic Client Registration metadata (RFC 7591 §2) where one exists
(`client_name`, `logo_uri`, `contacts`, `redirect_uris`, `jwks_uri`, `token_endpoint_auth_method`, `grant_types`,
`response_types`, `scope`); `launch_uri` is the SMART launch URL. Scopes are listed as the app asks for them
(`smart/scopes.py`): v2 syntax, and v1 for servers without `permission-v2`.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.assets import assets
from smart import scopes
from smart.discovery import SmartConfiguration
from smart.registry import AUTH_METHODS, SIGNING_ALGS

bp = Blueprint("registration", __name__)

PREFERRED_AUTH = "private_key_jwt"


def _scopes(v2: bool) -> dict[str, str]:
    config = SmartConfiguration("", "", "", capabilities=frozenset({"permission-v2"} if v2 else ()))
    return {"ehr_launch": scopes.requested(config, ehr_launch=True),
            "standalone_launch": scopes.requested(config, ehr_launch=False)}


def document() -> dict[str, Any]:
    """The app's registration facts, from its settings."""
    config = current_app.config
    base = config["APP_BASE_URL"].rstrip("/")
    contact = str(config.get("CONTACT") or "").strip()
    v2 = _scopes(True)
    return {
        "client_name": config["APP_NAME"],
        "logo_uri": base + assets.url("logo.svg"),
        "contacts": [contact] if contact else [],
        "launch_uri": base + "/launch",
        "redirect_uris": [base + "/callback"],
        "jwks_uri": base + "/.well-known/jwks.json",
        "token_endpoint_auth_method": PREFERRED_AUTH,
        "token_endpoint_auth_methods_supported": [PREFERRED_AUTH, *sorted(AUTH_METHODS - {PREFERRED_AUTH})],
        "token_endpoint_auth_signing_alg_values_supported": sorted(SIGNING_ALGS, reverse=True),
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "code_challenge_method": "S256",
        "scope": " ".join(dict.fromkeys(v2["ehr_launch"].split() + v2["standalone_launch"].split())),
        "scopes": {"v2": v2, "v1": _scopes(False)},
        "launch_types": ["ehr", "standalone"],
        "frame": "The EHR may show the app in an iframe from the origins registered with --frame-origin.",
        "documentation": base + "/registration",
    }


def _json() -> Response:
    response = jsonify(document())
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/registration")
def page() -> Response | str:
    """HTML for people, JSON for programs (`Accept: application/json`)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]:
        return _json()
    response = Response(render_template("registration.html", doc=document()), mimetype="text/html")
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/registration.json")
def as_json() -> Response:
    return _json()
