"""The JSON API the page uses (`/api/…`), described in `/openapi.json`.

It only ever serves the session's own patient: the patient comes from the launch, never from the request.
A request that names any other patient, in any place, is refused (403) and the attempt is logged.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, request

from app import lookup
from app.errors import AppError
from app.i18n import current_lang
from app.openapi import document
from smart.context import current_launch, fhir_session

bp = Blueprint("api", __name__)

PATIENT_KEYS = {"patient", "patient_id", "patientid", "subject", "identifier", "patient.identifier", "fnr",
                "nin", "pid", "id"}
PATIENT_HEADERS = ("X-Patient", "X-Patient-Id", "X-Patient-Identifier", "X-Subject")
MAX_PERIOD_DAYS = 3660


class BadParameter(AppError):
    status = 400
    code = "bad_parameter"
    title_nb, title_en = "Ugyldig parameter", "Invalid parameter"
    message_nb, message_en = "En parameter har feil form.", "A parameter is malformed."
    todo_nb, todo_en = "Bruk datoer på formen ÅÅÅÅ-MM-DD, og fra før til.", "Use dates as YYYY-MM-DD, from before to."


class WrongPatient(AppError):
    status = 403
    code = "wrong_patient"
    title_nb, title_en = "Bare pasienten fra oppstarten", "Only the launched patient"
    message_nb = "Denne økten kan bare vise pasienten journalsystemet startet appen for. Forsøket er logget."
    message_en = "This session can only show the patient the EHR launched the app for. The attempt was logged."
    todo_nb, todo_en = "Start appen fra den andre pasientens journal.", "Launch the app from the other patient's record."


def named_patients(extra_path: str = "", keys: frozenset[str] | set[str] = PATIENT_KEYS) -> list[str]:
    """Every patient the request names: query, form or JSON body, headers, extra path segments."""
    named = [v for k, v in request.args.items(multi=True) if k.lower() in keys]
    named += [v for k, v in request.form.items(multi=True) if k.lower() in keys]
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        named += [str(v) for k, v in body.items() if k.lower() in keys]
    named += [request.headers[h] for h in PATIENT_HEADERS if h in request.headers]
    if extra_path:
        named.append(extra_path)
    return named


def _own(value: str, patient_id: str | None) -> bool:
    return bool(patient_id) and value.rsplit("/", 1)[-1] == patient_id


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(f"{name}={raw[:40]}") from None


def _period() -> lookup.Period:
    start, end = _date("from"), _date("to")
    if start and end and (start > end or (end - start).days > MAX_PERIOD_DAYS):
        raise BadParameter("from/to")
    return lookup.Period(start, end)


@bp.route("/api/vitals", methods=["GET"], defaults={"extra": ""})
@bp.route("/api/vitals/<path:extra>", methods=["GET"])
def get_vitals(extra: str) -> Response:
    """operationId getVitals: the launched patient's vital signs, charts and every value."""
    launch = current_launch()
    others = [v for v in named_patients(extra) if not _own(v, launch.patient_id)]
    if others:
        period = lookup.Period(None, None)
        lookup.write(lookup.entry_for(launch, outcome="refused", what=[], period=period,
                                      reason="another patient was requested"))
        raise WrongPatient()
    body = lookup.vitals(fhir_session(), launch, _period(), current_lang(remember=False))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


