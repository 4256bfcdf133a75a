"""SMART App Launch 2.2, the app side: `/launch` (EHR and standalone), `/callback`, and the app's JWKS.

EHR launch: the EHR opens `/launch?iss=…&launch=…`; standalone launch: `/launch?iss=…` asks for
`launch/patient`. Only registered issuers are contacted. Each authorization request carries PKCE S256
(RFC 7636 §4.2; SMART requires S256 even when not advertised), a 256-bit `state` bound to this browser session
and usable once, a `nonce`, and `aud` = the FHIR base (SMART "Obtain authorization code").
Each completed launch gets its own handle and page, `/l/<handle>/` (smart/launches.py), so launches in several
tabs of one browser never mix their patients.
"""
from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Blueprint, Response, jsonify, redirect, request, session

from app.errors import (
    AuthorizationDenied,
    CitizenNotPatient,
    IdTokenInvalid,
    MissingParameter,
    SessionExpired,
    StateMismatch,
    UnknownIssuer,
)
from smart import id_token, scopes
from smart.client import current_client
from smart.context import remember_launch, stored_token
from smart.fhir_user import UserResolver, split_reference
from smart.launches import launch_path

bp = Blueprint("launch", __name__)

PENDING_KEY = "pending"
PENDING_LIFETIME = 600  # seconds a started sign-in may take
MAX_PENDING = 5
CONTEXT_PARAMS = (
    "patient", "encounter", "fhirContext", "need_patient_banner", "smart_style_url", "intent", "tenant",
)


def _param(name: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        raise MissingParameter(name, parameter=name)
    return value


@bp.get("/launch")
def launch() -> Response:
    """Start an authorization request at a registered EHR."""
    iss = _param("iss")
    client = current_client()
    registration = client.registry.find(iss)
    if registration is None:
        raise UnknownIssuer(iss=iss)
    launch_id = request.args.get("launch", "").strip()
    config = client.discovery.configuration(registration)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(32)
    scope = scopes.requested(config, ehr_launch=bool(launch_id))
    pending = _live_pending()
    pending[state] = {
        "iss": registration.issuer, "verifier": verifier, "nonce": nonce, "scope": scope, "created": time.time(),
    }
    session[PENDING_KEY] = dict(sorted(pending.items(), key=lambda kv: kv[1]["created"])[-MAX_PENDING:])
    params = {
        "response_type": "code",
        "client_id": registration.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": scope,
        "state": state,
        "aud": registration.issuer,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        "nonce": nonce,
    }
    if launch_id:
        params["launch"] = launch_id
    separator = "&" if "?" in config.authorization_endpoint else "?"
    return redirect(config.authorization_endpoint + separator + urlencode(params), code=302)


def _live_pending() -> dict[str, Any]:
    now = time.time()
    return {s: p for s, p in (session.get(PENDING_KEY) or {}).items() if now - p["created"] < PENDING_LIFETIME}


def _take_pending(state: str) -> dict[str, Any]:
    """The sign-in this `state` belongs to, removed so it cannot be used twice (RFC 6749 §10.12)."""
    pending = _live_pending()
    entry = pending.pop(state, None)
    session[PENDING_KEY] = pending
    if entry is None:
        if getattr(session, "stale", False):
            raise SessionExpired()
        raise StateMismatch()
    return entry


@bp.get("/callback")
def callback() -> Response:
    """Finish the sign-in: check `state`, trade the code (with the PKCE verifier), validate the id_token."""
    state = _param("state")
    if request.args.get("error"):
        _take_pending(state)
        raise AuthorizationDenied(request.args["error"], request.args.get("error_description", ""))
    entry = _take_pending(state)
    code = _param("code")
    client = current_client()
    registration = client.registry.find(entry["iss"])
    if registration is None:
        raise UnknownIssuer(iss=entry["iss"])
    config = client.discovery.configuration(registration)
    token = client.token_client(registration, config).exchange_code(code, entry["verifier"])
    claims = id_token.validate(
        token.get("id_token", ""),
        load_jwks=lambda force: client.discovery.jwks(config, force=force),
        issuer=config.issuer or registration.issuer,
        client_id=registration.client_id,
        nonce=entry["nonce"],
    )
    user = _resolve_user(claims, registration.issuer, token["access_token"], client.timeout)
    context = {name: token[name] for name in CONTEXT_PARAMS if name in token}
    if user["kind"] == "citizen":
        context["patient"] = _own_patient(user["reference"], registration.issuer, context.get("patient"))
    session.rotate()  # type: ignore[attr-defined]
    handle = remember_launch({
        "iss": registration.issuer,
        "fhir_base": registration.issuer,
        "scope": " ".join(scopes.granted(token.get("scope"), entry["scope"])),
        "token": stored_token(token),
        "context": context,
        "user": user,
        "launched_at": int(time.time()),
    })
    return redirect(launch_path(handle), code=302)


def _own_patient(fhir_user: str, fhir_base: str, context_patient: Any) -> str:
    """A citizen's patient is their own Patient on the launching EHR (docs/citizen.md): a `fhirUser` on another
    server, or a token `patient` naming someone else, is refused rather than shown."""
    _rtype, rid, local = split_reference(fhir_user, fhir_base)
    if not local or (context_patient and str(context_patient) != rid):
        raise CitizenNotPatient()
    return rid


def _resolve_user(claims: dict[str, Any], fhir_base: str, access_token: str, timeout: float) -> dict[str, Any]:
    """`fhirUser` (SMART 2.x) or `profile` (SMART 1.0) names the user's FHIR resource."""
    reference = claims.get("fhirUser") or claims.get("profile")
    if not isinstance(reference, str) or not reference:
        raise IdTokenInvalid("fhirUser")
    with requests.Session() as http:
        http.headers.update({"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"})
        return UserResolver(fhir_base, http, timeout).resolve(reference)


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The app's public keys, for EHRs that verify our `private_key_jwt` assertions (RFC 7517 §5)."""
    response = jsonify(current_client().keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
