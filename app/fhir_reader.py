"""Reads a patient's vital-sign Observations from a FHIR server, following every `next` link.

Two shapes (a per-EHR setting): the launching EHR's own FHIR API (`GET Observation?patient=…`), or the
national measurement store (`POST Observation/_search` with `patient.identifier`, PMD 2.0). Paging stops at a
cap on pages and on time, and the result says so. FHIR server failures map to named exceptions.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import requests

VITAL_SIGNS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
TIMEOUT = (5, 30)


class FhirReadError(Exception):
    """A FHIR server did not give us what we asked for; `status` is what our API answers."""

    status = 502
    code = "fhir_unavailable"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class FhirUnauthorized(FhirReadError):
    """The server refused the token (expired or revoked): the user must launch again."""

    status = 401
    code = "fhir_unauthorized"


class FhirForbidden(FhirReadError):
    """The server says the token does not allow this read."""

    status = 403
    code = "fhir_forbidden"


class FhirNotFound(FhirReadError):
    status = 404
    code = "fhir_not_found"


class FhirTimeout(FhirReadError):
    status = 504
    code = "fhir_timeout"


class FhirBadResponse(FhirReadError):
    """The server answered something that is not the FHIR we asked for."""

    code = "fhir_bad_response"


@dataclass
class ReadResult:
    """All Observations read, how many pages it took, and whether a cap stopped the paging early."""

    observations: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    complete: bool = True
    stopped_because: str = ""  # "" | "page-limit" | "time-limit"


def _check(response: requests.Response) -> dict[str, Any]:
    if response.status_code == 401:
        raise FhirUnauthorized(f"HTTP 401 from {urlsplit(response.url).netloc}")
    if response.status_code == 403:
        raise FhirForbidden(f"HTTP 403 from {urlsplit(response.url).netloc}")
    if response.status_code == 404:
        raise FhirNotFound(f"HTTP 404 from {urlsplit(response.url).netloc}")
    if response.status_code >= 400:
        raise FhirReadError(f"HTTP {response.status_code} from {urlsplit(response.url).netloc}")
    try:
        body = response.json()
    except ValueError as exc:
        raise FhirBadResponse("response is not JSON") from exc
    if not isinstance(body, dict) or "resourceType" not in body:
        raise FhirBadResponse("response is not a FHIR resource")
    return body


def _send(http: requests.Session, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    headers = {"Accept": "application/fhir+json", **kwargs.pop("headers", {})}
    try:
        response = http.request(method, url, headers=headers, timeout=TIMEOUT, allow_redirects=False, **kwargs)
    except requests.Timeout as exc:
        raise FhirTimeout(f"no answer from {urlsplit(url).netloc}") from exc
    except requests.RequestException as exc:
        raise FhirReadError(f"cannot reach {urlsplit(url).netloc}") from exc
    return _check(response)


def read_resource(http: requests.Session, base: str, reference: str) -> dict[str, Any]:
    """Read one resource by relative (`Patient/1`) or absolute reference on the same server."""
    url = reference if reference.startswith(("http://", "https://")) else f"{base.rstrip('/')}/{reference}"
    if not _same_server(base, url):
        raise FhirBadResponse("reference points at another server")
    return _send(http, "GET", url)


def _same_server(base: str, url: str) -> bool:
    """Only follow links on the server we were given: a token must never travel elsewhere."""
    b, u = urlsplit(base), urlsplit(url)
    return (b.scheme, b.netloc) == (u.scheme, u.netloc) and u.path.startswith(b.path.rstrip("/"))


def _date_params(date_from: date | None, date_to: date | None) -> list[tuple[str, str]]:
    params = []
    if date_from:
        params.append(("date", f"ge{date_from.isoformat()}"))
    if date_to:
        params.append(("date", f"le{date_to.isoformat()}"))
    return params


def read_observations(
    http: requests.Session,
    base: str,
    *,
    patient_id: str | None = None,
    national_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page_size: int = 1000,
    max_pages: int = 100,
    max_seconds: float = 20.0,
) -> ReadResult:
    """Every vital-sign Observation for one patient, by FHIR id (EHR) or by fødselsnummer (national store)."""
    base = base.rstrip("/")
    if (patient_id is None) == (national_id is None):
        raise ValueError("give exactly one of patient_id and national_id")
    if patient_id is not None:
        params = [("patient", patient_id), ("category", VITAL_SIGNS), ("_count", str(page_size)),
                  *_date_params(date_from, date_to)]
        bundle = _send(http, "GET", f"{base}/Observation", params=params)
    else:
        # PMD 2.0 read shape: POST [base]/Observation/_search, form parameters, one patient per search.
        form = [("patient.identifier", f"{FNR_SYSTEM}|{national_id}"), ("_count", str(page_size)),
                *_date_params(date_from, date_to)]
        bundle = _send(http, "POST", f"{base}/Observation/_search", data=form)
    result = ReadResult()
    started = time.monotonic()
    while True:
        if bundle.get("resourceType") != "Bundle":
            raise FhirBadResponse("search did not answer a Bundle")
        result.pages += 1
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Observation":
                result.observations.append(resource)
        next_url = next((link.get("url") for link in bundle.get("link") or [] if link.get("relation") == "next"), None)
        if not next_url:
            return result
        if not _same_server(base, next_url):
            raise FhirBadResponse("next link points at another server")
        if result.pages >= max_pages:
            result.complete, result.stopped_because = False, "page-limit"
            return result
        if time.monotonic() - started > max_seconds:
            result.complete, result.stopped_because = False, "time-limit"
            return result
        bundle = _send(http, "GET", next_url)
