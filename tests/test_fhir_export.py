"""The log as FHIR R4 AuditEvent (IHE BALP PatientQuery) and blocks as FHIR R4 Consent: structurally valid R4
(parsed strictly by the fhirclient R4 models) and carrying the codes the patterns require."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from fhirclient.models.auditevent import AuditEvent
from fhirclient.models.bundle import Bundle
from fhirclient.models.consent import Consent

from app.blocks import Block
from app.fhir_export import audit_event, bundle, consent

SERVICE = "http://127.0.0.1:8000"
PATIENT = "http://ehr.test/fhir/Patient/pas-01"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"


def _row(**changes: Any) -> dict[str, Any]:
    row = {"id": 7, "at": "2026-03-01T09:15:00.000+00:00", "action": "lookup", "outcome": "permitted", "reason": "",
           "actor_type": "practitioner", "actor_ref": "Practitioner/prac-01", "actor_name": "Kari Lege",
           "actor_hpr": "9144889", "actor_role": "Fastlege", "actor_org": "Asker kommune", "patient_ref": PATIENT,
           "patient_identifier": "05838012345", "what": ["8867-4", "8480-6"], "period_from": "2026-01-01",
           "period_to": "2026-02-28", "issuer": "http://ehr.test/fhir", "client_id": "pmd", "system_name": "Test-EHR",
           "basis": "care-relationship", "target_hpr": None, "target_name": None}
    row.update(changes)
    return row


def _agent(event: dict[str, Any], code: str) -> dict[str, Any]:
    return next(a for a in event["agent"] if a["type"]["coding"][0]["code"] == code)


def _entity(event: dict[str, Any], role: str) -> dict[str, Any]:
    return next(e for e in event["entity"] if e["role"]["code"] == role)


def test_a_lookup_is_a_balp_patient_query() -> None:
    event = audit_event(_row(), SERVICE)
    AuditEvent(event, strict=True)
    assert event["meta"]["profile"] == ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery"]
    assert event["type"]["code"] == "rest" and event["subtype"][0]["code"] == "search" and event["action"] == "E"
    assert event["outcome"] == "0" and event["recorded"] == "2026-03-01T09:15:00.000+00:00"
    user = _agent(event, "IRCP")
    assert user["requestor"] is True and user["who"]["identifier"] == {"system": HPR, "value": "9144889"}
    assert user["who"]["display"] == "Kari Lege" and user["role"] == [{"text": "Fastlege"}]
    assert user["purposeOfUse"][0]["coding"][0]["code"] == "TREAT"
    assert _agent(event, "PROV")["who"]["display"] == "Asker kommune"
    assert _agent(event, "110153")["who"]["display"] == "Test-EHR"
    assert _agent(event, "110152")["who"]["identifier"]["value"] == SERVICE
    patient = _entity(event, "1")
    assert patient["what"] == {"reference": PATIENT,
                               "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "05838012345"}}
    query = base64.b64decode(_entity(event, "24")["query"]).decode()
    assert query.startswith("Observation?patient=") and "8867-4" in query and "date=ge2026-01-01" in query


@pytest.mark.parametrize("outcome, code", [("refused", "4"), ("failed", "8")])
def test_a_refused_or_failed_lookup_keeps_the_shape_with_its_outcome(outcome: str, code: str) -> None:
    event = audit_event(_row(outcome=outcome, reason="blocked"), SERVICE)
    AuditEvent(event, strict=True)
    assert event["outcome"] == code and event["outcomeDesc"] == "blocked"
    assert "meta" not in event  # BALP profiles only successful events


@pytest.mark.parametrize("basis, code", [("emergency", "ETREAT"), ("own-data", "PATRQT")])
def test_the_basis_is_the_purpose_of_use(basis: str, code: str) -> None:
    event = audit_event(_row(basis=basis), SERVICE)
    assert _agent(event, "IRCP")["purposeOfUse"][0]["coding"][0]["code"] == code


@pytest.mark.parametrize("action, interaction, letter", [("block", "create", "C"), ("unblock", "delete", "D")])
def test_blocks_and_lifts_are_create_and_delete_of_the_consent(action: str, interaction: str, letter: str) -> None:
    row = _row(action=action, actor_type="citizen", actor_name="Ola Pasient", actor_hpr="", actor_role="",
               actor_org="", what=[], basis="own-data", target_hpr="9144889", target_name="Kari Lege")
    event = audit_event(row, SERVICE)
    AuditEvent(event, strict=True)
    assert event["subtype"][0]["code"] == interaction and event["action"] == letter
    assert _agent(event, "IRCP")["who"]["reference"] == PATIENT
    consent_entity = _entity(event, "4")
    assert consent_entity["what"]["type"] == "Consent"
    assert consent_entity["what"]["identifier"] == {"system": HPR, "value": "9144889"}


def _block(lifted_at: str | None = None) -> Block:
    return Block(3, "05838012345", PATIENT, "9144889", "Kari Lege", "http://ehr.test/fhir/Practitioner/prac-01",
                 "2026-03-01T09:20:00.000+00:00", lifted_at)


def test_a_block_is_a_consent_with_a_nested_deny_naming_the_practitioner() -> None:
    resource = consent(_block())
    Consent(resource, strict=True)
    assert resource["status"] == "active" and resource["scope"]["coding"][0]["code"] == "patient-privacy"
    assert resource["patient"]["reference"] == PATIENT
    assert resource["provision"]["type"] == "permit"
    deny = resource["provision"]["provision"][0]
    assert deny["type"] == "deny" and deny["period"] == {"start": "2026-03-01T09:20:00.000+00:00"}
    actor = deny["actor"][0]
    assert actor["role"]["coding"][0]["code"] == "PRCP"
    assert actor["reference"] == {"type": "Practitioner", "identifier": {"system": HPR, "value": "9144889"},
                                  "reference": "http://ehr.test/fhir/Practitioner/prac-01", "display": "Kari Lege"}


def test_a_lifted_block_is_an_inactive_consent_with_an_end() -> None:
    resource = consent(_block(lifted_at="2026-03-02T08:00:00.000+00:00"))
    Consent(resource, strict=True)
    assert resource["status"] == "inactive"
    assert resource["provision"]["provision"][0]["period"]["end"] == "2026-03-02T08:00:00.000+00:00"


def test_a_bundle_is_a_searchset_with_paging_links() -> None:
    page = bundle([audit_event(_row(), SERVICE), consent(_block())], "/api/access-log", "/api/access-log?before=7")
    Bundle(page, strict=True)
    assert page["type"] == "searchset"
    assert [link["relation"] for link in page["link"]] == ["self", "next"]
    assert [e["resource"]["resourceType"] for e in page["entry"]] == ["AuditEvent", "Consent"]
