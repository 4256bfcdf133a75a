"""One lookup of the launched patient's vital signs: read, log first, then hand back.

The access-log entry is written before anything is returned; if it cannot be written, nothing is returned
(design.md, "Every read is logged first"). A failed read is logged too, so the citizen sees the attempt.
A professional the patient has blocked (by HPR number, app/blocks.py) is refused before any Observation is read,
emergencies included; the refusal is logged. Every path that returns measurement data goes through `vitals()` or
calls `refuse_if_blocked()` itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from datetime import date, datetime, timezone
from typing import Any

import requests
from flask import current_app

from app import charts
from app.access_log import AccessLogUnavailable, Entry, current_log
from app.blocks import BlocksUnavailable, current_blocks
from app.errors import AppError
from app.fhir_reader import FhirReadError, ReadResult, read_observations, read_resource
from app.identifiers import FNR, mask_fnr
from app.vitals import VITALS, VitalSeries, last_measured, normalise, oslo
from smart.context import Launch


class LogUnavailable(AppError):
    status = 503
    code = "access_log_unavailable"
    title_nb, title_en = "Oppslaget kan ikke logges", "The lookup cannot be logged"
    message_nb = "Hvert oppslag må logges før data vises, og loggen kan ikke skrives nå. Ingen data er vist."
    message_en = "Every lookup must be logged before data is shown, and the log cannot be written now. No data was shown."
    todo_nb, todo_en = "Prøv igjen om litt. Vedvarer feilen, kontakt brukerstøtte.", "Try again shortly. If it persists, contact support."


class BlockedByPatient(AppError):
    status = 403
    code = "blocked_by_patient"
    title_nb, title_en = "Pasienten har sperret din tilgang", "The patient has blocked your access"
    message_nb = ("Pasienten har sperret deg fra å se målingene sine, også i en nødsituasjon. Ingen data er vist. "
                  "Forsøket er logget, og pasienten ser det i sin innsynslogg.")
    message_en = ("The patient has blocked you from seeing their measurements, emergencies included. No data was "
                  "shown. The attempt was logged, and the patient sees it in their access log.")
    todo_nb = "Bare pasienten kan oppheve sperringen. Trengs målingene, må en kollega uten sperring slå dem opp."
    todo_en = "Only the patient can lift the block. If the measurements are needed, a colleague who is not blocked must look them up."


class BlockCheckUnavailable(AppError):
    status = 503
    code = "blocks_unavailable"
    title_nb, title_en = "Sperringer kan ikke sjekkes", "Blocks cannot be checked"
    message_nb = "Appen kan ikke sjekke om pasienten har sperret tilgangen din nå, og viser derfor ingen data."
    message_en = "The app cannot check whether the patient has blocked your access right now, so it shows no data."
    todo_nb, todo_en = "Prøv igjen om litt. Vedvarer feilen, kontakt brukerstøtte.", "Try again shortly. If it persists, contact support."


class MeasurementsUnavailable(AppError):
    code = "measurements_unavailable"
    title_nb, title_en = "Målingene kunne ikke hentes", "The measurements could not be read"
    message_nb = "Kilden for målingene svarte ikke som forventet."
    message_en = "The measurement source did not answer as expected."
    todo_nb, todo_en = "Prøv igjen om litt.", "Try again in a moment."

    def __init__(self, cause: FhirReadError) -> None:
        super().__init__(cause.code)
        self.status = cause.status if cause.status in (502, 504) else 502
        if cause.status in (401, 403):
            self.todo_nb = "Start appen på nytt fra journalsystemet."
            self.todo_en = "Launch the app again from the EHR."


class NoPatientContext(AppError):
    status = 400
    code = "no_patient_context"
    title_nb, title_en = "Ingen pasient valgt", "No patient selected"
    message_nb = "Journalsystemet oppga ingen pasient ved oppstart."
    message_en = "The EHR gave no patient at launch."
    todo_nb, todo_en = "Åpne appen fra en pasients journal.", "Open the app from a patient's record."


class NoNationalId(FhirReadError):
    """The national store is searched by fødselsnummer, and the EHR's Patient has none."""

    code = "no_national_id"


class StoreNeedsOwnCredentials(FhirReadError):
    """The EHR's token is for the EHR: it is never sent to a store on another origin. A national store elsewhere
    needs its own credentials (HelseID, private_key_jwt + DPoP), which the app does not have yet."""

    code = "store_needs_own_credentials"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None

    def as_text(self) -> tuple[str, str]:
        return (self.start.isoformat() if self.start else "", self.end.isoformat() if self.end else "")


def patient_ref(launch: Launch) -> str:
    """The launched patient as an absolute reference on the launching EHR's FHIR server."""
    return f"{launch.fhir_base}/Patient/{launch.patient_id}"


def entry_for(launch: Launch, *, outcome: str, what: list[str], period: Period, patient_identifier: str = "",
              reason: str = "", action: str = "lookup") -> Entry:
    """The access-log entry describing this session's user looking at its patient."""
    user, registration = launch.user, launch.registration
    start, end = period.as_text()
    return Entry(
        action=action, outcome=outcome, reason=reason,
        patient_ref=patient_ref(launch), patient_identifier=patient_identifier,
        actor_type=user.kind, actor_ref=user.reference, actor_name=user.name, actor_hpr=user.hpr,
        actor_role=user.role, actor_org=user.organization.name if user.organization else "",
        what=what, period_from=start, period_to=end, issuer=registration.issuer,
        client_id=registration.client_id, system_name=registration.name,
        basis="emergency" if launch.intent == "emergency" else ("own-data" if user.kind == "citizen" else "care-relationship"),
    )


def write(entry: Entry) -> None:
    """Write the entry or refuse to go on (503): no data without a log line."""
    try:
        current_log().append(entry)
    except AccessLogUnavailable as exc:
        raise LogUnavailable() from exc


def refuse_if_blocked(launch: Launch, fnr: str, *, what: list[str], period: Period) -> None:
    """Refuse (403, logged) a professional the patient has blocked; fail closed (503) if blocks cannot be read.

    Blocks name an HPR number, so a user without one (a citizen, or staff without authorisation) is never blocked.
    """
    hpr = launch.user.hpr if launch.user.kind != "citizen" else ""
    if not hpr:
        return
    try:
        block = current_blocks().blocking(fnr, patient_ref(launch), hpr)
    except BlocksUnavailable as exc:
        write(entry_for(launch, outcome="failed", what=what, period=period, patient_identifier=fnr,
                        reason="blocks-unavailable"))
        raise BlockCheckUnavailable() from exc
    if block is not None:
        write(entry_for(launch, outcome="refused", what=what, period=period, patient_identifier=fnr, reason="blocked"))
        raise BlockedByPatient()


def all_vitals() -> list[str]:
    """The measurements a lookup asks for, as the log records them (first LOINC code of each vital)."""
    return sorted({code for v in VITALS.values() for code in v.loinc[:1]})


def check_access(http: requests.Session, launch: Launch) -> None:
    """For the page: read the Patient (to know the fødselsnummer) and refuse a blocked professional at once.

    A read failure is left to the page's own data request, which reports and logs it.
    """
    if not launch.patient_id or launch.user.kind == "citizen" or not launch.user.hpr:
        return
    try:
        patient = read_resource(http, launch.fhir_base, f"Patient/{launch.patient_id}")
    except FhirReadError:
        return
    refuse_if_blocked(launch, national_id(patient), what=all_vitals(), period=Period(None, None))


def national_id(patient: dict[str, Any]) -> str:
    for identifier in patient.get("identifier") or []:
        if identifier.get("system") == FNR and identifier.get("value"):
            return str(identifier["value"])
    return ""


def _patient_summary(patient: dict[str, Any], fnr: str) -> dict[str, Any]:
    name = (patient.get("name") or [{}])[0]
    text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
    birth = patient.get("birthDate", "")
    birth_text = ".".join(reversed(birth.split("-"))) if len(birth) == 10 else birth
    return {"id": patient.get("id"), "name": text, "birth_date": birth, "birth_date_text": birth_text,
            "fnr_masked": mask_fnr(fnr) if fnr else "", "gender": patient.get("gender", "")}


def _read(http: requests.Session, launch: Launch, fnr: str, period: Period) -> ReadResult:
    """From the EHR's FHIR server, or from the national store by fødselsnummer: a per-EHR setting."""
    registration, config = launch.registration, current_app.config
    caps = {"date_from": period.start, "date_to": period.end, "page_size": int(config["FHIR_PAGE_SIZE"]),
            "max_pages": int(config["FHIR_MAX_PAGES"]), "max_seconds": float(config["FHIR_MAX_SECONDS"])}
    if registration.measurements == "national":
        if not fnr:
            raise NoNationalId()
        if _origin(registration.store_url) != _origin(launch.fhir_base):
            raise StoreNeedsOwnCredentials()
        return read_observations(http, registration.store_url, national_id=fnr, **caps)
    return read_observations(http, launch.fhir_base, patient_id=launch.patient_id, **caps)


def vitals(http: requests.Session, launch: Launch, period: Period, lang: str) -> dict[str, Any]:
    """Read, log, and shape the launched patient's vital signs for the page and the API."""
    if not launch.patient_id:
        raise NoPatientContext()
    what, fnr = all_vitals(), ""
    try:
        patient = read_resource(http, launch.fhir_base, f"Patient/{launch.patient_id}")
        fnr = national_id(patient)
        refuse_if_blocked(launch, fnr, what=what, period=period)
        result = _read(http, launch, fnr, period)
    except FhirReadError as exc:
        write(entry_for(launch, outcome="failed", what=what, period=period, patient_identifier=fnr, reason=exc.code))
        raise MeasurementsUnavailable(exc) from exc
    write(entry_for(launch, outcome="permitted", what=what, period=period, patient_identifier=fnr))
    series = normalise(result.observations)
    return _response(series, result, _patient_summary(patient, fnr), launch, period, lang)


def _latest_value(chart: charts.Chart, table: dict[str, Any]) -> str:
    """The newest row as read aloud: `142/91 mmHg` for blood pressure, `72 /min` otherwise."""
    if not table["rows"]:
        return ""
    values = [v for v in table["rows"][0]["values"] if v]
    if chart.key == "blood_pressure" and len(values) == 2:
        return f"{values[0].split()[0]}/{values[1]}"
    return " / ".join(values)


def _response(series: VitalSeries, result: ReadResult, patient: dict[str, Any], launch: Launch, period: Period,
              lang: str) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    chart_list = charts.figures(series, lang)
    tables = {}
    for chart in charts.CHARTS:
        if not any(series[key] for key in chart.vitals):
            continue
        tables[chart.key] = charts.table(chart, series, lang)
        latest = last_measured(series[chart.vitals[0]], now)
        entry = next(c for c in chart_list if c["key"] == chart.key)
        entry["last_measured"] = None if latest is None else {
            "nb": latest.text_nb, "en": latest.text_en, "time_oslo": oslo(latest.point.time, lang),
            "value": _latest_value(chart, tables[chart.key]),
        }
    start, end = period.as_text()
    note = {"nb": "", "en": ""}
    if not result.complete:
        note = {"nb": f"kilden har flere sider enn appen henter ({result.stopped_because}). Velg en kortere periode.",
                "en": f"the source has more pages than the app reads ({result.stopped_because}). Choose a shorter period."}
    return {
        "patient": patient, "need_patient_banner": launch.need_patient_banner,
        "period": {"from": start, "to": end}, "complete": result.complete, "note": note,
        "observations_read": len(result.observations), "skipped": series.skipped,
        "charts": chart_list, "tables": tables,
    }
