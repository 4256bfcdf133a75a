"""The citizen's log and blocks in standard shapes: FHIR R4 `AuditEvent` and `Consent` in a `Bundle`.

AuditEvent follows IHE Basic Audit Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP/): a lookup is a RESTful
search of the patient's Observations, recorded by the server that answered it, so it is a PatientQuery (type
`rest`, subtype `search`, action E; agents: the user as information recipient, the EHR as Source Role ID, this
service as Destination Role ID; entities: the Patient (role 1) and the query (role 24)). BALP profiles only
successful events; a refused or failed lookup keeps the same shape with outcome 4 or 8 ("Access Denied" in FHIR
core security). Blocks and lifts are create and delete of the citizen's Consent (BALP PatientCreate/PatientDelete).

A block is an R4 Consent (privacy scope, opt-out policy): a base `permit` provision with a nested `deny`
provision whose actor is the Practitioner, named by HPR number (FHIR R4 Consent, example "consent-example-notThem").
"""
from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from app.blocks import Block
from app.identifiers import FNR, HPR
from app.vitals import VITALS

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
              "display": "Restful Operation"}
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
ENTITY_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
OUTCOME = {"permitted": "0", "refused": "4", "failed": "8"}
PURPOSE = {"care-relationship": ("TREAT", "treatment"), "emergency": ("ETREAT", "Emergency Treatment"),
           "own-data": ("PATRQT", "patient requested"), "consent": ("TREAT", "treatment")}
# action → (restful interaction, AuditEvent.action, BALP profile)
ACTIONS = {"lookup": ("search", "E", "PatientQuery"), "view-log": ("search", "E", "PatientQuery"),
           "block": ("create", "C", "PatientCreate"), "unblock": ("delete", "D", "PatientDelete")}
VITAL_SIGNS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
_VITAL_CODES = {c for v in VITALS.values() for c in v.loinc}


def _coding(system: str, code: str, display: str = "") -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _patient_entity(row: dict[str, Any]) -> dict[str, Any]:
    what: dict[str, Any] = {"reference": row["patient_ref"]} if row["patient_ref"] else {}
    if row["patient_identifier"]:
        what["identifier"] = {"system": FNR, "value": row["patient_identifier"]}
    return {"what": what, "type": _coding(ENTITY_TYPE, "1", "Person"), "role": _coding(ENTITY_ROLE, "1", "Patient")}


def _query_entity(row: dict[str, Any]) -> dict[str, Any]:
    """The search as it was asked (BALP: the query, base64, on an entity with role 24)."""
    if row["action"] == "view-log":
        text = "AuditEvent?" + urlencode({"patient": row["patient_ref"]})
    else:
        params = [("patient", row["patient_ref"]), ("category", VITAL_SIGNS)]
        codes = [c for c in row["what"] if c in _VITAL_CODES]
        if codes:
            params.append(("code", ",".join(f"http://loinc.org|{c}" for c in codes)))
        params += [("date", f"ge{row['period_from']}")] if row["period_from"] else []
        params += [("date", f"le{row['period_to']}")] if row["period_to"] else []
        text = "Observation?" + urlencode(params)
    return {"type": _coding(ENTITY_TYPE, "2", "System Object"), "role": _coding(ENTITY_ROLE, "24", "Query"),
            "description": text, "query": base64.b64encode(text.encode()).decode()}


def _user_agent(row: dict[str, Any]) -> dict[str, Any]:
    who: dict[str, Any] = {"display": row["actor_name"] or row["actor_ref"] or "unknown"}
    if row["actor_hpr"]:
        who["identifier"] = {"system": HPR, "value": row["actor_hpr"]}
    if row["actor_type"] == "citizen" and row["patient_ref"]:
        who["reference"] = row["patient_ref"]
    agent: dict[str, Any] = {
        "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP",
                                    "information recipient")]},
        "who": who, "requestor": True,
    }
    if row["actor_role"]:
        agent["role"] = [{"text": row["actor_role"]}]
    code, display = PURPOSE.get(row["basis"], ("TREAT", "treatment"))
    agent["purposeOfUse"] = [{"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", code, display)]}]
    return agent


def _agents(row: dict[str, Any], service: str) -> list[dict[str, Any]]:
    agents = [_user_agent(row)]
    if row["actor_org"]:
        agents.append({"type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV",
                                                   "healthcare provider")]},
                       "who": {"display": row["actor_org"]}, "requestor": False})
    agents.append({"type": {"coding": [_coding(DCM, "110153", "Source Role ID")]},
                   "who": {"display": row["system_name"] or row["issuer"],
                           "identifier": {"system": "urn:ietf:rfc:3986", "value": row["issuer"]}},
                   "altId": row["client_id"], "requestor": False})
    agents.append({"type": {"coding": [_coding(DCM, "110152", "Destination Role ID")]},
                   "who": {"display": "Pasientens måledata",
                           "identifier": {"system": "urn:ietf:rfc:3986", "value": service}},
                   "requestor": False})
    return agents


def audit_event(row: dict[str, Any], service: str) -> dict[str, Any]:
    """One log entry as a BALP-shaped R4 AuditEvent; `service` is this app's base URL (the recorder)."""
    interaction, action, profile = ACTIONS.get(row["action"], ("search", "E", "PatientQuery"))
    entities = [_patient_entity(row)]
    if interaction == "search":
        entities.append(_query_entity(row))
    else:
        entities.append({"type": _coding(ENTITY_TYPE, "2", "System Object"),
                         "role": _coding(ENTITY_ROLE, "4", "Domain Resource"),
                         "what": {"type": "Consent", "identifier": {"system": HPR, "value": row.get("target_hpr") or ""},
                                  "display": f"{row.get('target_name') or ''} (HPR {row.get('target_hpr') or ''})"}})
    event: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": f"log-{row['id']}",
        "type": EVENT_TYPE, "subtype": [_coding(INTERACTION, interaction, interaction)], "action": action,
        "recorded": row["at"], "outcome": OUTCOME.get(row["outcome"], "8"),
        "agent": _agents(row, service),
        "source": {"site": "Pasientens måledata", "observer": {"display": "Pasientens måledata",
                                                               "identifier": {"system": "urn:ietf:rfc:3986",
                                                                              "value": service}},
                   "type": [_coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                                    "Application Server")]},
        "entity": entities,
    }
    if row["outcome"] == "permitted":
        event["meta"] = {"profile": [BALP + profile]}
    if row["reason"]:
        event["outcomeDesc"] = row["reason"]
    if row["period_from"] or row["period_to"]:
        event["period"] = {k: v for k, v in (("start", row["period_from"]), ("end", row["period_to"])) if v}
    return event


def consent(block: Block) -> dict[str, Any]:
    """A block as an R4 Consent: permit as the base, a nested deny naming the Practitioner by HPR number."""
    patient: dict[str, Any] = {"reference": block.patient_ref}
    if block.patient_identifier:
        patient["identifier"] = {"system": FNR, "value": block.patient_identifier}
    practitioner: dict[str, Any] = {"type": "Practitioner", "identifier": {"system": HPR, "value": block.hpr}}
    if block.practitioner_ref:
        practitioner["reference"] = block.practitioner_ref
    if block.practitioner_name:
        practitioner["display"] = block.practitioner_name
    period = {"start": block.placed_at, **({"end": block.lifted_at} if block.lifted_at else {})}
    return {
        "resourceType": "Consent", "id": f"block-{block.id}", "status": "active" if block.active else "inactive",
        "scope": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy",
                                     "Privacy Consent")]},
        "category": [{"coding": [_coding("http://loinc.org", "59284-0", "Patient Consent")]}],
        "patient": patient, "dateTime": block.placed_at,
        "policyRule": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT", "opt-out")]},
        "provision": {
            "type": "permit",
            "provision": [{
                "type": "deny", "period": period,
                "actor": [{"role": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                                       "PRCP", "primary information recipient")]},
                           "reference": practitioner}],
                "action": [{"coding": [_coding("http://terminology.hl7.org/CodeSystem/consentaction", "access",
                                               "Access")]}],
                "class": [_coding("http://hl7.org/fhir/resource-types", "Observation", "Observation")],
            }],
        },
    }


def bundle(resources: list[dict[str, Any]], self_url: str, next_url: str | None = None) -> dict[str, Any]:
    """A searchset Bundle of the resources (with a `next` link when there is a further page)."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}
