"""The sandbox's FHIR R4 REST API at `/fhir`: capabilities, read and search, behind bearer tokens
(RFC 6750) and SMART scopes (http://hl7.org/fhir/R4/http.html, search.html, bundle.html).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from smart.sandbox import scopes, search
from smart.sandbox.db import get_db
from smart.sandbox.search_params import COMPARTMENT, ID_PATTERN, PARAMS, codings, patient_of, reference_key
from smart.sandbox.store import FhirStore, SearchResult
from smart.sandbox.tokens import AccessGrant, TokenStore

bp = Blueprint("sandbox_fhir", __name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
MAX_BODY = 64 * 1024
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               406: "not-supported", 413: "too-costly", 415: "not-supported", 500: "exception"}
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


class FhirError(Exception):
    """An answer other than success: status, diagnostics and any extra headers."""

    def __init__(self, status: int, diagnostics: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status, self.diagnostics, self.headers = status, diagnostics, headers or {}


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = MAX_BODY


@bp.errorhandler(FhirError)
def _fhir_error(error: FhirError) -> Response:
    return outcome(error.status, error.diagnostics, error.headers)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return outcome(error.code or 500, error.description or error.name)


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    current_app.logger.exception("FHIR API error")
    return outcome(500, "The sandbox FHIR server failed to handle the request.")


def outcome(status: int, diagnostics: str, headers: dict[str, str] | None = None) -> Response:
    """A FHIR OperationOutcome response (R4 operationoutcome.html)."""
    issue = {"severity": "error", "code": ISSUE_CODES.get(status, "processing"), "diagnostics": diagnostics}
    return _fhir({"resourceType": "OperationOutcome", "issue": [issue]}, status, headers)


@bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement, readable without a token (R4 http.html#capabilities)."""
    _check_format()
    origin = current_app.config["SANDBOX_BASE_URL"]
    resources = [
        {"type": rtype, "interaction": [{"code": "read"}, {"code": "search-type"}],
         "searchParam": [{"name": name, "type": p.type_name} for name, p in params.items()]}
        for rtype, params in PARAMS.items()
    ]
    security = {
        "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                 "code": "SMART-on-FHIR"}]}],
        # SMART App Launch 2.2, conformance.html: the oauth-uris extension (v1 discovery fallback).
        "extension": [{"url": OAUTH_URIS, "extension": [
            {"url": "authorize", "valueUri": f"{origin}/auth/authorize"},
            {"url": "token", "valueUri": f"{origin}/auth/token"}]}],
    }
    return _fhir({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
        "date": datetime.now(timezone.utc).date().isoformat(), "publisher": "Pasientens måledata",
        "software": {"name": "Pasientens måledata SMART sandbox"},
        "implementation": {"description": "Embedded SMART sandbox EHR", "url": current_app.config["FHIR_BASE_URL"]},
        "fhirVersion": "4.0.1", "format": ["json"],
        "rest": [{"mode": "server", "security": security, "resource": resources}],
    })


@bp.route("/<rtype>/<rid>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def read(rtype: str, rid: str) -> Response:
    """Read one resource; a patient-scoped token sees another patient's resource as not found."""
    if rid == "_search" and request.method == "POST":
        grant = _prepare(rtype, "POST")
        return _search(grant, rtype, [*request.args.items(multi=True), *_form_items()])
    grant = _prepare(rtype, "GET")
    if not ID_PATTERN.fullmatch(rid):
        raise FhirError(400, f"Invalid {rtype} id '{rid}'.")
    store = FhirStore(get_db())
    resource = store.read(rtype, rid)
    own = f"{rtype}/{rid}" in _own_profile(store, grant)
    permitted = scopes.covering(grant, rtype, "read")
    if not permitted and not own:
        raise _forbidden(rtype, "read")
    if resource is None:
        raise FhirError(404, f"{rtype}/{rid} is not known.")
    if own:
        return _fhir(resource)
    in_compartment = rtype not in COMPARTMENT or patient_of(resource) == _patient_id(grant)
    visible = [p for p in permitted if p.context != "patient" or in_compartment]
    if not visible:
        raise FhirError(404, f"{rtype}/{rid} is not known.")  # do not reveal other patients' data
    categories = tuple(codings(resource.get("category"))) if "category" in PARAMS[rtype] else None
    if not any(p.admits(categories) for p in visible):
        raise _forbidden(rtype, "read")
    return _fhir(resource)


@bp.route("/<rtype>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def search_type(rtype: str) -> Response:
    """Search with GET [type]?params (R4 http.html#search)."""
    grant = _prepare(rtype, "GET")
    return _search(grant, rtype, list(request.args.items(multi=True)))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unsupported(rest: str) -> Response:
    raise FhirError(404, f"The sandbox FHIR server has no '{rest}' (it supports read, search and metadata).")


def _search(grant: AccessGrant, rtype: str, items: list[tuple[str, str]]) -> Response:
    """Run a search within what the token's scopes allow: per scope, a compartment and/or categories."""
    _check_format()
    store = FhirStore(get_db())
    try:
        query = search.parse(rtype, items, default_count=int(current_app.config["SANDBOX_PAGE_SIZE"]))
    except search.SearchError as error:
        raise FhirError(400, str(error)) from None
    permitted = scopes.covering(grant, rtype, "search")
    if not permitted and _asks_own_roles(grant, rtype, items):
        return _fhir(_bundle(rtype, items, store.search(rtype, query)))
    if not permitted:
        raise _forbidden(rtype, "search")
    limits = []
    for permission in permitted:
        compartment = permission.context == "patient" and rtype in COMPARTMENT
        limits.append(search.Limit(_patient_id(grant) if compartment else None, permission.categories))
    if all(limit.patient is not None for limit in limits):
        _check_patient(store, query, _patient_id(grant), rtype)
    if all(limit.categories for limit in limits):
        _check_categories(query, [c for limit in limits for c in limit.categories], rtype)
    if search.Limit() not in limits:
        query = query.limited(dict.fromkeys(limits))
    return _fhir(_bundle(rtype, items, store.search(rtype, query)))


def _own_profile(store: FhirStore, grant: AccessGrant) -> set[str]:
    """What `fhirUser` lets a user read about themself: their resource, their roles and those roles'
    organisations (SMART App Launch 2.2, "fhirUser": the app may read the user's own record)."""
    if grant.fhir_user is None:
        return set()
    me = reference_key(grant.fhir_user)
    profile = {me}
    if me.startswith("Practitioner/"):
        roles = store.search("PractitionerRole", search.parse("PractitionerRole", [("practitioner", me)], default_count=100))
        for role in roles.resources:
            profile.add(f"PractitionerRole/{role['id']}")
            org = (role.get("organization") or {}).get("reference", "")
            if org.startswith("Organization/"):
                profile.add(org)
    return profile


def _asks_own_roles(grant: AccessGrant, rtype: str, items: list[tuple[str, str]]) -> bool:
    """`PractitionerRole?practitioner=<own fhirUser>`: the one search a user may make about themself."""
    return (rtype == "PractitionerRole" and grant.fhir_user is not None and len(items) == 1
            and items[0][0] == "practitioner" and reference_key(items[0][1]) == reference_key(grant.fhir_user))


def _check_patient(store: FhirStore, query: search.Query, patient: str, rtype: str) -> None:
    """A patient-scoped token may name no other patient (SMART App Launch, patient-specific scopes)."""
    named: list[str] = []
    for clause in query.clauses:
        if clause.identifiers and "Patient" in clause.targets:
            found = store.identified("Patient", clause.identifiers)
            named.extend(found or ["(unknown)"])
        elif clause.param in ("patient", "subject") or (rtype == "Patient" and clause.param == "_id"):
            named.extend(v.removeprefix("Patient/") for v in clause.values
                         if clause.kind in ("patient", "id") or v.startswith("Patient/"))
    if any(name != patient for name in named):
        raise FhirError(403, "This token is limited to its own patient; the search names another patient.",
                        {"WWW-Authenticate": _challenge("insufficient_scope")})


def _check_categories(query: search.Query, allowed: list[scopes.Category], rtype: str) -> None:
    for clause in query.clauses:
        if clause.param == "category" and not all(scopes.fits((t.system, t.code), allowed) for t in clause.values):
            raise _forbidden(rtype, "search", "The token's scopes do not cover the category searched for.")


def _bundle(rtype: str, items: list[tuple[str, str]], result: SearchResult) -> dict[str, Any]:
    """A searchset Bundle with self/next/previous links on the sandbox origin (R4 bundle.html, http.html#paging)."""
    base = current_app.config["FHIR_BASE_URL"]
    query = result.query
    kept = [(k, v) for k, v in items if k not in ("_offset", "_count")]

    def page(offset: int) -> str:
        return f"{base}/{rtype}?" + urlencode([*kept, ("_count", str(query.count)), ("_offset", str(offset))])

    links = [{"relation": "self", "url": page(query.offset)}]
    if query.count and query.offset + query.count < result.total:
        links.append({"relation": "next", "url": page(query.offset + query.count)})
    if query.count and query.offset > 0:
        links.append({"relation": "previous", "url": page(max(query.offset - query.count, 0))})
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        "type": "searchset", "total": result.total, "link": links,
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                  for r in result.resources],
    }


def _prepare(rtype: str, allowed_method: str) -> AccessGrant:
    """Authenticate, then check the method and the resource type."""
    grant = _grant()
    if request.method not in (allowed_method, "HEAD" if allowed_method == "GET" else allowed_method):
        raise FhirError(405, f"{request.method} is not supported here; the sandbox FHIR server is read-only.")
    if rtype not in PARAMS:
        raise FhirError(400, f"Unknown or unsupported resource type '{rtype}' (supported: {', '.join(PARAMS)}).")
    return grant


def _grant() -> AccessGrant:
    """The grant behind `Authorization: Bearer <token>` (RFC 6750 §2.1), or a 401 challenge (§3)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        # §3.1: a request without any authentication gets a challenge without an error code.
        raise FhirError(401, "An access token is required (Authorization: Bearer <token>).",
                        {"WWW-Authenticate": _challenge()})
    token = token.strip()
    grant = TokenStore(get_db()).lookup(token) if B64TOKEN.fullmatch(token) else None
    if grant is None:
        raise FhirError(401, "The access token is unknown, expired or revoked.",
                        {"WWW-Authenticate": _challenge("invalid_token", "The access token is not valid")})
    return grant


def _forbidden(rtype: str, interaction: str, diagnostics: str | None = None) -> FhirError:
    letter = scopes.INTERACTIONS[interaction]
    text = diagnostics or f"The token's scopes do not allow {interaction} on {rtype}."
    return FhirError(403, text, {"WWW-Authenticate": _challenge("insufficient_scope", scope=f"user/{rtype}.{letter}")})


def _challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3)."""
    parts = [f'realm="{current_app.config["FHIR_BASE_URL"]}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def _patient_id(grant: AccessGrant) -> str | None:
    return grant.patient.removeprefix("Patient/") if grant.patient else None


def _form_items() -> list[tuple[str, str]]:
    """The form body of POST _search (R4 http.html#search: application/x-www-form-urlencoded)."""
    if request.content_length and request.mimetype != "application/x-www-form-urlencoded":
        raise FhirError(415, "POST _search takes an application/x-www-form-urlencoded body.")
    return list(request.form.items(multi=True))


def _check_format() -> None:
    wanted = request.args.get("_format") or (request.form.get("_format") if request.method == "POST" else None)
    if wanted and wanted.split(";")[0].strip() not in JSON_FORMATS:
        raise FhirError(406, f"_format '{wanted}' is not supported; the sandbox speaks JSON only.")


def _fhir(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, headers, content_type=FHIR_JSON)
