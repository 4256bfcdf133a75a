"""The scopes the app asks for, and what was granted.

SMART App Launch 2.2 "Scopes and Launch Context": v2 syntax (`.rs`, granular `?category=`) by default; v1 `.read`
only for servers that do not declare `permission-v2`. The app asks for read access to the patient's vital signs
and the Patient resource, the user's identity (`openid fhirUser`), the launch context (`launch` for an EHR
launch, `launch/patient` for a standalone launch) and a refresh token for the session (`online_access`).
A standalone (citizen) launch also asks to read Practitioners, so that a citizen blocking a professional by HPR
number can be told whose number it is, or that nobody has it (`Practitioner?identifier=…`, app/blocking.py);
a server may grant less, and the app reads what was granted.
"""
from __future__ import annotations

from smart.discovery import SmartConfiguration

VITAL_SIGNS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"

V2_DATA = ("patient/Patient.rs", f"patient/Observation.rs?category={VITAL_SIGNS}")
V1_DATA = ("patient/Patient.read", "patient/Observation.read")
DIRECTORY = {True: "patient/Practitioner.rs", False: "patient/Practitioner.read"}  # by permission-v2
IDENTITY = ("openid", "fhirUser")


def requested(config: SmartConfiguration, *, ehr_launch: bool) -> str:
    """The space-separated scope string for the authorization request."""
    data = V2_DATA if config.permission_v2 else V1_DATA
    if not ehr_launch:
        data = (*data, DIRECTORY[config.permission_v2])
    context = "launch" if ehr_launch else "launch/patient"
    return " ".join((*data, *IDENTITY, context, "online_access"))


def granted(token_response_scope: object, requested_scope: str) -> tuple[str, ...]:
    """The scopes in the token response (RFC 6749 §5.1: absent means as requested)."""
    if isinstance(token_response_scope, str) and token_response_scope.strip():
        return tuple(token_response_scope.split())
    return tuple(requested_scope.split())

