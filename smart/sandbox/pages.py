"""The EHR side of the sandbox: the front page (patients, practitioners, registered apps), the launcher
that starts an EHR launch, an EHR view that frames the app, and the style sheet apps may follow.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, make_response, redirect, render_template, request

from smart.sandbox import clients, directory
from smart.sandbox.authorize import error_page
from smart.sandbox.db import get_db
from smart.sandbox.directory import Person
from smart.sandbox.launches import LaunchStore
from smart.sandbox.page_security import origins, secure_page
from smart.sandbox.store import FhirStore

bp = Blueprint("sandbox_pages", __name__)

# SMART App Launch 2.2, app-launch.html §"Styling": the keys an app may use to match the EHR's look.
SMART_STYLE = {
    "color_background": "#f6f7f9",
    "color_error": "#b3261e",
    "color_highlight": "#005b82",
    "color_modal_backdrop": "rgba(0, 0, 0, 0.4)",
    "color_success": "#1e7a3c",
    "color_text": "#1b1f24",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, sans-serif",
    "font_family_heading": "system-ui, sans-serif",
}
BANNER_VALUES = {"true": True, "false": False}


def _app_origins() -> list[str]:
    registered = clients.registered().values()
    return origins([c.launch_uri for c in registered] + [u for c in registered for u in c.redirect_uris])


def _page(template: str, **context: object) -> Response:
    return secure_page(make_response(render_template(template, **context)), _app_origins())


@bp.get("/")
def ehr_home() -> Response:
    """Patients, practitioners and apps; a GET form picks practitioner and app for the launch links."""
    store = FhirStore(get_db())
    practitioners = directory.practitioners(store)
    apps = list(clients.registered().values())
    provider = next((p for p in practitioners if p.id == request.args.get("provider")),
                    practitioners[0] if practitioners else None)
    app = next((a for a in apps if a.client_id == request.args.get("app")), apps[0] if apps else None)
    return _page("ehr_home.html", patients=directory.patients(store, with_conditions=True),
                 practitioners=practitioners, apps=apps, provider=provider, app=app)


class LaunchRequestError(ValueError):
    """A launcher or EHR-view request that names no registered app, or nobody who exists."""

    def __init__(self, nb: str, en: str) -> None:
        super().__init__(en)
        self.nb, self.en = nb, en


def _launch_request() -> tuple[str, Person, Person, bool]:
    """Validate launch_uri, patient, provider and need_patient_banner from the query string."""
    launch_uri = request.args.get("launch_uri", "")
    if launch_uri not in {c.launch_uri for c in clients.registered().values()}:
        raise LaunchRequestError("Adressen er ikke startadressen til en registrert app.",
                                 "launch_uri is not the launch URL of a registered app.")
    store = FhirStore(get_db())
    patient = directory.find(store, f"Patient/{request.args.get('patient', '')}")
    provider = directory.find(store, f"Practitioner/{request.args.get('provider', '')}")
    if patient is None:
        raise LaunchRequestError("Ukjent pasient.", "Unknown patient.")
    if provider is None:
        raise LaunchRequestError("Ukjent helsepersonell.", "Unknown practitioner.")
    banner = request.args.get("need_patient_banner", "true").lower()
    if banner not in BANNER_VALUES:
        raise LaunchRequestError("need_patient_banner må være true eller false.",
                                 "need_patient_banner must be true or false.")
    return launch_uri, patient, provider, BANNER_VALUES[banner]


@bp.get("/launcher")
def launcher() -> Response:
    """Start an EHR launch: 302 to `<launch_uri>?iss=<FHIR base>&launch=<opaque>` (SMART §"EHR Launch")."""
    try:
        launch_uri, patient, provider, banner = _launch_request()
    except LaunchRequestError as problem:
        return error_page(400, problem.nb, problem.en)
    launch = LaunchStore(get_db()).create(launch_uri=launch_uri, patient=patient.id, provider=provider.id,
                                          need_patient_banner=banner)
    query = urlencode({"iss": current_app.config["FHIR_BASE_URL"], "launch": launch.id})
    response = redirect(f"{launch_uri}{'&' if '?' in launch_uri else '?'}{query}", 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/ehr")
def ehr_view() -> Response:
    """The EHR's own patient header with the app in an iframe, launched with need_patient_banner=false."""
    try:
        launch_uri, patient, provider, _banner = _launch_request()
    except LaunchRequestError as problem:
        return error_page(400, problem.nb, problem.en)
    app = next(c for c in clients.registered().values() if c.launch_uri == launch_uri)
    frame_query = {"launch_uri": launch_uri, "patient": patient.id, "provider": provider.id,
                   "need_patient_banner": "false"}
    return _page("ehr_view.html", patient=patient, provider=provider, app=app, frame_query=frame_query)


@bp.get("/smart-style.json")
def smart_style() -> Response:
    response = jsonify(SMART_STYLE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer instead of a 404 in every browser console."""
    response = make_response("", 204)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
