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
                    "403": _error("Another patient was asked for; refused and logged"),
                    "502": _error("The measurement source failed"),
                    "503": _error("The access log cannot be written; no data is returned"),
                    "504": _error("The measurement source timed out"),
                },
            }},
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
        }},
    }
