"""Who launched the app: the `fhirUser` of the id_token resolved to a Practitioner (with HPR number and
organisation) or a Patient (the citizen).

SMART App Launch 2.2 "Scopes for requesting identity data": `fhirUser` is a relative or absolute URL of a
Practitioner, Patient, PractitionerRole, RelatedPerson or Person. The bearer token is only ever sent to the
launching EHR's own FHIR base, so an absolute URL elsewhere is recorded but not fetched.
"""
from __future__ import annotations

from typing import Any

import requests

from app.errors import UserUnknown

HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"


def split_reference(fhir_user: str, fhir_base: str) -> tuple[str, str, bool]:
    """(resource type, id, whether it lives on `fhir_base`) of a relative or absolute reference."""
    reference = fhir_user.strip()
    local = True
    if "://" in reference:
        local = reference.startswith(fhir_base.rstrip("/") + "/")
        reference = reference[len(fhir_base.rstrip("/")) + 1 :] if local else reference
    parts = [p for p in reference.split("/") if p]
    if len(parts) < 2:
        raise UserUnknown("fhirUser")
    return parts[-2], parts[-1], local


def human_name(resource: dict[str, Any]) -> str:
    """The display name of a Practitioner or Patient (official name first)."""
    names = resource.get("name") or []
    names = sorted(names, key=lambda n: n.get("use") != "official")
    for name in names:
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        text = " ".join(p for p in parts if p)
        if text:
            return text
    return ""


def identifier(resource: dict[str, Any], system: str) -> str:
    for ident in resource.get("identifier") or []:
        if ident.get("system") == system and ident.get("value"):
            return str(ident["value"])
    return ""


def _codeable_text(concepts: list[dict[str, Any]]) -> str:
    for concept in concepts:
        if concept.get("text"):
            return str(concept["text"])
        for coding in concept.get("coding") or []:
            if coding.get("display"):
                return str(coding["display"])
    return ""


class UserResolver:
    """Reads the user's resources from the EHR's FHIR server with the launch's access token."""

    def __init__(self, fhir_base: str, http: requests.Session, timeout: float) -> None:
        self.base = fhir_base.rstrip("/")
        self.http = http
        self.timeout = timeout

    def resolve(self, fhir_user: str) -> dict[str, Any]:
        """A JSON-able description of the user: kind, reference, name, hpr, role, organization."""
        rtype, rid, local = split_reference(fhir_user, self.base)
        user: dict[str, Any] = {
            "kind": {"Practitioner": "practitioner", "PractitionerRole": "practitioner", "Patient": "citizen"}.get(
                rtype, "other"
            ),
            "reference": f"{rtype}/{rid}" if local else fhir_user,
            "name": "",
            "hpr": "",
            "role": "",
            "organization": None,
        }
        if not local or user["kind"] == "other":
            return user
        resource = self._read(rtype, rid)
        if resource is None:
            raise UserUnknown(f"{rtype}/{rid}")
        if rtype == "PractitionerRole":
            return self._from_role(user, resource)
        user["name"] = human_name(resource)
        if rtype == "Practitioner":
            user["hpr"] = identifier(resource, HPR_SYSTEM)
            role = self._first_role(rid)
            if role:
                user["role"] = _codeable_text(role.get("code") or [])
                user["organization"] = self._organization(role)
        return user

    def _from_role(self, user: dict[str, Any], role: dict[str, Any]) -> dict[str, Any]:
        user["role"] = _codeable_text(role.get("code") or [])
        user["organization"] = self._organization(role)
        practitioner_ref = (role.get("practitioner") or {}).get("reference", "")
        try:
            rtype, rid, local = split_reference(practitioner_ref, self.base) if practitioner_ref else ("", "", False)
        except UserUnknown:
            rtype, rid, local = "", "", False
        if rtype == "Practitioner" and local:  # relative or absolute on this server: its HPR number is what blocks name
            practitioner = self._read("Practitioner", rid) or {}
            user["reference"] = f"Practitioner/{rid}"
            user["name"] = human_name(practitioner)
            user["hpr"] = identifier(practitioner, HPR_SYSTEM)
        return user

    def _first_role(self, practitioner_id: str) -> dict[str, Any] | None:
        """A PractitionerRole with an organisation, if the server has them (optional: errors are ignored)."""
        bundle = self._get("PractitionerRole", {"practitioner": f"Practitioner/{practitioner_id}"})
        for entry in (bundle or {}).get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "PractitionerRole" and resource.get("organization"):
                return resource
        return None

    def _organization(self, role: dict[str, Any]) -> dict[str, str] | None:
        reference = (role.get("organization") or {}).get("reference", "")
        display = (role.get("organization") or {}).get("display", "")
        if not reference.startswith("Organization/"):
            return {"reference": reference, "name": display, "orgnr": ""} if display else None
        org = self._read("Organization", reference.split("/", 1)[1]) or {}
        return {"reference": reference, "name": org.get("name") or display, "orgnr": identifier(org, ORGNR_SYSTEM)}

    def _read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        resource = self._get(f"{rtype}/{rid}")
        if resource and resource.get("resourceType") == rtype:
            return resource
        return None

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        try:
            response = self.http.get(f"{self.base}/{path}", params=params, timeout=self.timeout)
            if response.status_code != 200:
                return None
            body = response.json()
        except (requests.RequestException, ValueError):
            return None
        return body if isinstance(body, dict) else None
