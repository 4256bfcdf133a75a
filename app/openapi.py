"""The OpenAPI 3.1 description of the JSON API (`GET /openapi.json`)."""
from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"},
        "message": {"type": "object", "properties": {"nb": {"type": "string"}, "en": {"type": "string"}}},
    }}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


HPR_PATTERN = "^[0-9]{7,9}$"


def _citizen_paths() -> dict[str, Any]:
    """The citizen's access log and blocks (app/citizen.py): a citizen's session only; a professional's gets 403."""
    query = {"in": "query", "required": False}
    fmt = {**query, "name": "_format", "schema": {"enum": ["json", "fhir", "application/fhir+json"]},
           "description": "`fhir`: a FHIR R4 Bundle (searchset) instead of the app's JSON"}
    citizen_only = _error("Not a citizen's session (a professional cannot read or change blocks or the log), or a "
                          "parameter named another patient")

    def fhir_or_json(schema: str, resource: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                "application/fhir+json": {"schema": {"$ref": "#/components/schemas/FhirBundle",
                                                     "description": f"Bundle of {resource}"}}}

    hpr_body = {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "required": ["hpr"], "properties": {
            "hpr": {"type": "string", "pattern": HPR_PATTERN, "description": "The professional's HPR number"}}}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"hpr": {"type": "string"}}}}}}
    return {
        "/api/access-log": {"get": {
            "operationId": "getAccessLog",
            "summary": "The signed-in citizen's access log, newest first, one page at a time",
            "description": "Who looked up the citizen's measurements: when, who (name, role, HPR number), which "
                           "organisation, what (measurements, period), through which system, on what basis, and "
                           "whether it was refused and why; blocks and lifts too. `section=own` lists the citizen's "
                           "own views apart. Only ever the citizen's own entries. `_format=fhir`: a Bundle of "
                           "AuditEvent (IHE BALP PatientQuery; blocks and lifts as PatientCreate/PatientDelete).",
            "parameters": [
                {**query, "name": "section", "schema": {"enum": ["others", "own"], "default": "others"}},
                {**query, "name": "before", "schema": {"type": "integer", "minimum": 1},
                 "description": "Keyset paging: entries older than this id (follow `next`)"},
                {**query, "name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 25}},
                {**query, "name": "from", "schema": {"type": "string", "format": "date"},
                 "description": "First day, Europe/Oslo, inclusive"},
                {**query, "name": "to", "schema": {"type": "string", "format": "date"},
                 "description": "Last day, Europe/Oslo, inclusive"},
                {**query, "name": "hpr", "schema": {"type": "string", "pattern": HPR_PATTERN},
                 "description": "Only this person"},
                fmt,
            ],
            "responses": {"200": {"description": "One page of entries",
                                  "content": fhir_or_json("AccessLogPage", "AuditEvent")},
                          "400": _error("A malformed parameter"), "401": _error("No launch, or it expired"),
                          "403": citizen_only, "502": _error("The EHR did not confirm who the citizen is"),
                          "503": _error("The access log cannot be written")},
        }},
        "/api/blocks": {
            "get": {
                "operationId": "listBlocks",
                "summary": "The citizen's blocks of named health professionals",
                "parameters": [{**query, "name": "include_lifted", "schema": {"enum": ["true", "false"]}}, fmt],
                "responses": {"200": {"description": "Blocks (FHIR: Consent with a nested deny provision naming "
                                                     "the Practitioner by HPR number)",
                                      "content": fhir_or_json("Blocks", "Consent")},
                              "401": _error("No launch, or it expired"), "403": citizen_only},
            },
            "post": {
                "operationId": "createBlock",
                "summary": "Block a named health professional by HPR number; holds in emergencies too",
                "description": "Send the CSRF token in `X-CSRFToken` (from `<meta name=\"csrf-token\">`). Logged.",
                "requestBody": hpr_body,
                "responses": {"201": {"description": "Placed", "headers": {"Location": {"schema": {"type": "string"}}},
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BlockAnswer"}}}},
                              "400": _error("Malformed HPR number, or missing CSRF token"),
                              "401": _error("No launch, or it expired"), "403": citizen_only,
                              "409": _error("Already blocked"), "413": _error("The request is too large"),
                              "422": _error("Unknown HPR number, or one that could not be confirmed"),
                              "503": _error("The block or its log entry could not be written; nothing changed")},
            },
        },
        "/api/blocks/{hpr}": {"delete": {
            "operationId": "deleteBlock",
            "summary": "Lift the citizen's block on this HPR number",
            "description": "Send the CSRF token in `X-CSRFToken`. Logged.",
            "parameters": [{"in": "path", "name": "hpr", "required": True,
                            "schema": {"type": "string", "pattern": HPR_PATTERN}}],
            "responses": {"200": {"description": "Lifted",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BlockAnswer"}}}},
                          "400": _error("Malformed HPR number, or missing CSRF token"),
                          "401": _error("No launch, or it expired"), "403": citizen_only,
                          "404": _error("No block on this HPR number"),
                          "503": _error("The lift or its log entry could not be written; nothing changed")},
        }},
    }


CITIZEN_SCHEMAS: dict[str, Any] = {
    "AccessLogPage": {"type": "object", "required": ["section", "entries", "next"], "properties": {
        "section": {"enum": ["others", "own"]},
        "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AccessLogEntry"}},
        "next": {"type": ["string", "null"], "description": "URL of the next (older) page"},
    }},
    "AccessLogEntry": {"type": "object", "required": ["id", "at", "action", "outcome", "actor", "what", "words"],
                       "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "action": {"enum": ["lookup", "block", "unblock", "view-log"]},
        "outcome": {"enum": ["permitted", "refused", "failed"]}, "reason": {"type": ["string", "null"]},
        "actor": {"type": "object", "description": "type, name, hpr, role, organisation, reference"},
        "what": {"type": "object", "description": "codes (LOINC) and period"},
        "system": {"type": "object", "description": "name, issuer, client_id of the EHR or app"},
        "basis": {"enum": ["care-relationship", "emergency", "own-data", "consent"]},
        "target": {"type": ["object", "null"], "description": "block/unblock: the professional (hpr, name)"},
        "words": {"type": "object", "description": "The same facts in plain words: {nb: {...}, en: {...}}"},
    }},
    "Block": {"type": "object", "required": ["hpr", "active"], "properties": {
        "hpr": {"type": "string"}, "name": {"type": "string"}, "practitioner": {"type": ["string", "null"]},
        "placed_at": {"type": "string", "format": "date-time"},
        "lifted_at": {"type": ["string", "null"], "format": "date-time"}, "active": {"type": "boolean"},
        "url": {"type": "string", "description": "Where to DELETE it"},
    }},
    "Blocks": {"type": "object", "required": ["blocks"], "properties": {
        "blocks": {"type": "array", "items": {"$ref": "#/components/schemas/Block"}}}},
    "BlockAnswer": {"type": "object", "required": ["block"], "properties": {"block": {"$ref": "#/components/schemas/Block"}}},
    "FhirBundle": {"type": "object", "required": ["resourceType", "type"], "properties": {
        "resourceType": {"const": "Bundle"}, "type": {"const": "searchset"}, "link": {"type": "array"},
        "entry": {"type": "array"}}},
}


def document() -> dict[str, Any]:
    """What the API offers; every operation serves only the session's own patient."""
    date_param = {"in": "query", "required": False, "schema": {"type": "string", "format": "date"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pasientens måledata", "version": "0.1.0",
                 "description": "JSON behind the app's pages. Authentication is the browser session from a SMART "
                                "launch; every call serves only the launched patient and is written to the "
                                "patient's access log before data is returned."},
        "paths": {
            "/api/vitals": {"get": {
                "operationId": "getVitals",
                "summary": "The launched patient's vital signs: charts (thinned for drawing) and every value",
                "parameters": [
                    {**date_param, "name": "from", "description": "First day (ISO date), inclusive"},
                    {**date_param, "name": "to", "description": "Last day (ISO date), inclusive"},
                    {"in": "query", "name": "lang", "required": False, "schema": {"enum": ["nb", "en"]}},
                ],
                "responses": {
                    "200": {"description": "Vital signs", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Vitals"}}}},
                    "400": _error("A malformed parameter"),
                    "401": _error("No launch in this session, or it expired"),
                    "403": _error("Another patient was asked for, or the patient has blocked this professional "
                                  "(code blocked_by_patient, emergencies included); refused and logged"),
                    "502": _error("The measurement source failed"),
                    "503": _error("The access log cannot be written, or blocks cannot be checked; no data is returned"),
                    "504": _error("The measurement source timed out"),
                },
            }},
            **_citizen_paths(),
        },
        "components": {"schemas": {
            "Error": ERROR,
            "Vitals": {"type": "object", "required": ["patient", "charts", "tables", "complete"], "properties": {
                "patient": {"type": "object"},
                "need_patient_banner": {"type": "boolean"},
                "period": {"type": "object"},
                "complete": {"type": "boolean", "description": "false when a paging cap stopped the read"},
                "note": {"type": "object"},
                "observations_read": {"type": "integer"},
                "skipped": {"type": "object", "additionalProperties": {"type": "integer"}},
                "charts": {"type": "array", "items": {"type": "object"}},
                "tables": {"type": "object"},
            }},
            **CITIZEN_SCHEMAS,
        }},
    }
