"""The authorization endpoint with its pages: who is signed in, and what the user approves.

An EHR launch (valid `launch`) signs in the launching practitioner without a page (SMART App Launch 2.2,
app-launch.html §"Launch App: EHR Launch"). `login_hint=Practitioner/<id>` or `Patient/<id>` signs that
user in without a page (for scripts); adding `prompt=none` also skips the consent page (OpenID Connect
Core §3.1.2.1). Otherwise a sign-in page, then a consent page (with a patient picker when a practitioner
asks `launch/patient` in a standalone launch). Errors that are safe to send back go to the redirect URI
(RFC 6749 §4.1.2.1); an unknown client or redirect URI gets an HTML page and no redirect.
"""
from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import InteractionRequiredError, LoginRequiredError
from flask import Blueprint, Response, current_app, make_response, render_template, request

from smart.sandbox import directory, scopes
from smart.sandbox.db import get_db
from smart.sandbox.directory import Person
from smart.sandbox.grants import SandboxUser, launch_of
from smart.sandbox.launches import LaunchStore
from smart.sandbox.page_security import csrf_token, csrf_valid, secure_page
from smart.sandbox.store import FhirStore

bp = Blueprint("sandbox_authorize", __name__)


def _oauth() -> Any:
    return current_app.extensions["sandbox_oauth"]


def error_page(status: int, nb: str, en: str, detail: str = "") -> Response:
    """An HTML error page, for errors that must not be sent to an unverified redirect URI."""
    page = render_template("error.html", nb=nb, en=en, detail=detail)
    return secure_page(make_response(page, status))


def _send_error(error: OAuth2Error) -> Response:
    if error.redirect_uri:
        return secure_page(_oauth().handle_error_response(None, error))
    return error_page(400, "Appen ba om innlogging på en måte sandkassen ikke godtar.",
                      "The app asked for sign-in in a way the sandbox does not accept.",
                      f"{error.error}: {error.description or ''}")


def _redirect_error(grant: Any, error: OAuth2Error) -> Response:
    error.redirect_uri = grant.redirect_uri
    error.state = grant.request.payload.state
    return _send_error(error)


def _claimed_user() -> str | None:
    """Who the request says is signing in: the launch's practitioner, the posted choice, or login_hint."""
    launch_id = request.values.get("launch")
    if launch_id:
        launch = LaunchStore(get_db()).get(launch_id)
        if launch is not None:
            return f"Practitioner/{launch.provider}"
    if request.method == "POST" and request.form.get("user"):
        return request.form["user"]
    return request.args.get("login_hint") or None


def _issue(grant: Any, user: SandboxUser) -> Response:
    return secure_page(_oauth().create_authorization_response(grant=grant, grant_user=user))


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    """Authorization endpoint (RFC 6749 §4.1.1; SMART §"Step 4: App asks for authorization")."""
    if request.method == "POST" and not csrf_valid():
        return error_page(400, "Skjemaet var utløpt eller ugyldig. Start innloggingen på nytt fra appen.",
                          "The form had expired or was not valid. Start the sign-in again from the app.")
    claimed = _claimed_user()
    try:
        grant = _oauth().get_consent_grant(end_user=claimed)
    except OAuth2Error as error:
        return _send_error(error)

    launch = launch_of(grant)
    if launch is not None:
        return _issue(grant, SandboxUser(f"Practitioner/{launch.provider}", launch.patient,
                                         launch.need_patient_banner, launch.id))
    prompt_none = request.values.get("prompt") == "none"
    store = FhirStore(get_db())
    if claimed is None:
        if prompt_none:
            return _redirect_error(grant, LoginRequiredError())
        return _signin_page(grant, store)
    person = directory.find(store, claimed)
    if person is None:
        return _redirect_error(grant, InvalidRequestError("login_hint or user names nobody in this sandbox."))

    standalone = "launch/patient" in grant.request.scope.split()
    if request.method == "POST" and request.form.get("step") == "consent":
        if request.form.get("decision") != "approve":
            return secure_page(_oauth().create_authorization_response(grant=grant, grant_user=None))
        return _approve(grant, person, standalone, request.form.get("patient"), store)
    if prompt_none and request.args.get("login_hint"):
        if standalone and person.kind == "Practitioner":
            return _redirect_error(grant, InteractionRequiredError("A practitioner must pick a patient."))
        return _approve(grant, person, standalone, None, store)
    return _consent_page(grant, person, standalone, store)


def _approve(grant: Any, person: Person, standalone: bool, chosen: str | None, store: FhirStore) -> Response:
    """Issue the code; a patient's context is always themselves, a practitioner's the patient picked."""
    patient: str | None = None
    if person.kind == "Patient":
        patient = person.id
    elif standalone:
        picked = directory.find(store, f"Patient/{chosen}") if chosen else None
        if picked is None:
            return _redirect_error(grant, InvalidRequestError("Choose a patient for a launch/patient request."))
        patient = picked.id
    return _issue(grant, SandboxUser(person.ref, patient, need_patient_banner=True))


def _client_view(grant: Any) -> dict[str, Any]:
    client = grant.request.client
    granted = grant.request.scope.split()
    return {"client_name": client.name, "client_id": client.client_id,
            "scopes": [scopes.describe(s) + (s,) for s in granted], "action": request.full_path,
            "csrf_token": csrf_token()}


def _signin_page(grant: Any, store: FhirStore) -> Response:
    page = render_template("signin.html", practitioners=directory.practitioners(store),
                           patients=directory.patients(store), **_client_view(grant))
    return secure_page(make_response(page))


def _consent_page(grant: Any, person: Person, standalone: bool, store: FhirStore) -> Response:
    choose_patient = standalone and person.kind == "Practitioner"
    page = render_template("consent.html", person=person, choose_patient=choose_patient,
                           patients=directory.patients(store) if choose_patient else [], **_client_view(grant))
    return secure_page(make_response(page))
