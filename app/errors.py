"""Errors the user can see: each carries its HTTP status and a message in bokmål and English.

One handler renders them as an HTML page, or as JSON `{"error": {"code", "message": {"nb", "en"}}}` for `/api/`
paths and clients that ask for JSON. Unexpected exceptions become a plain 500 without a stack trace.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request, session
from flask.sessions import NullSession
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of the errors we show; subclasses set status, code and the two-language texts."""

    status = 500
    code = "internal_error"
    title_nb = "Noe gikk galt"
    title_en = "Something went wrong"
    message_nb = "En uventet feil oppstod."
    message_en = "An unexpected error occurred."
    todo_nb = "Prøv igjen om litt."
    todo_en = "Try again in a moment."

    def __init__(self, detail: str = "", **facts: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.facts = {k: v for k, v in facts.items() if v}

    def message(self) -> dict[str, str]:
        nb, en = self.message_nb, self.message_en
        if self.detail:
            nb, en = f"{nb} ({self.detail})", f"{en} ({self.detail})"
        return {"nb": nb, "en": en}


class UnknownIssuer(AppError):
    status = 400
    code = "unknown_iss"
    title_nb, title_en = "Ukjent journalsystem", "Unknown EHR"
    message_nb = "Appen er ikke registrert for dette journalsystemet, og kontakter det derfor ikke."
    message_en = "The app is not registered for this EHR, so it does not contact it."
    todo_nb = "Be leverandøren av journalsystemet registrere appen, eller start fra et registrert journalsystem."
    todo_en = "Ask the EHR vendor to register the app, or launch it from a registered EHR."


class MissingParameter(AppError):
    status = 400
    code = "missing_parameter"
    title_nb, title_en = "Mangler opplysninger", "Missing information"
    message_nb = "Forespørselen mangler en nødvendig parameter."
    message_en = "The request lacks a required parameter."
    todo_nb = "Start appen på nytt fra journalsystemet eller innloggingssiden."
    todo_en = "Launch the app again from the EHR or the sign-in page."


class StateMismatch(AppError):
    status = 400
    code = "invalid_state"
    title_nb, title_en = "Innloggingen kan ikke fullføres", "Sign-in cannot be completed"
    message_nb = "Svaret fra innloggingen hører ikke til denne nettleserøkten, eller er allerede brukt."
    message_en = "The sign-in response does not belong to this browser session, or was already used."
    todo_nb = "Start appen på nytt. Ikke bruk tilbakeknappen under innlogging."
    todo_en = "Launch the app again. Do not use the back button while signing in."


class AuthorizationDenied(AppError):
    """The authorization server answered `error=` (RFC 6749 §4.1.2.1): its own words are shown."""

    status = 400
    code = "authorization_error"
    title_nb, title_en = "Innloggingen ble avvist", "Sign-in was refused"
    message_nb = "Journalsystemets innlogging ga ikke appen tilgang."
    message_en = "The EHR's sign-in did not give the app access."
    todo_nb = "Start appen på nytt. Kontakt brukerstøtte for journalsystemet hvis det skjer igjen."
    todo_en = "Launch the app again. Contact the EHR's support if it happens again."

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error=error, error_description=description)
        if error == "access_denied":
            self.status = 403


class DiscoveryFailed(AppError):
    status = 502
    code = "discovery_failed"
    title_nb, title_en = "Journalsystemet svarer ikke", "The EHR does not answer"
    message_nb = "Appen fikk ikke lest journalsystemets SMART-oppsett."
    message_en = "The app could not read the EHR's SMART configuration."
    todo_nb = "Prøv igjen om litt. Vedvarer feilen, kontakt brukerstøtte for journalsystemet."
    todo_en = "Try again in a moment. If it persists, contact the EHR's support."


class TokenEndpointFailed(AppError):
    status = 502
    code = "token_error"
    title_nb, title_en = "Tilgang ble ikke gitt", "Access was not granted"
    message_nb = "Journalsystemet ga ikke appen tilgangsnøkler."
    message_en = "The EHR did not give the app access tokens."
    todo_nb = "Start appen på nytt. Vedvarer feilen, kontakt brukerstøtte for journalsystemet."
    todo_en = "Launch the app again. If it persists, contact the EHR's support."

    def __init__(self, detail: str = "", error: str = "", description: str = "") -> None:
        super().__init__(detail, error=error, error_description=description)


class IdTokenInvalid(AppError):
    status = 502
    code = "invalid_id_token"
    title_nb, title_en = "Brukeren kunne ikke bekreftes", "The user could not be verified"
    message_nb = "Journalsystemets bekreftelse av hvem du er (id_token) var ikke gyldig."
    message_en = "The EHR's statement of who you are (id_token) was not valid."
    todo_nb = "Start appen på nytt. Vedvarer feilen, kontakt brukerstøtte for journalsystemet."
    todo_en = "Launch the app again. If it persists, contact the EHR's support."


class UserUnknown(AppError):
    status = 502
    code = "user_unknown"
    title_nb, title_en = "Brukeren kunne ikke slås opp", "The user could not be looked up"
    message_nb = "Appen fikk ikke lest hvem du er fra journalsystemet."
    message_en = "The app could not read who you are from the EHR."
    todo_nb = "Start appen på nytt. Vedvarer feilen, kontakt brukerstøtte for journalsystemet."
    todo_en = "Launch the app again. If it persists, contact the EHR's support."


class CitizenNotPatient(AppError):
    """A citizen (`fhirUser` a Patient) launched for a patient record other than their own on the launching EHR."""

    status = 403
    code = "citizen_not_patient"
    title_nb, title_en = "Bare dine egne målinger", "Only your own measurements"
    message_nb = ("Du logget inn som pasient, men journalsystemet ga appen en annen pasientjournal enn din egen. "
                  "Appen viser innbyggere bare deres egne opplysninger. Ingenting er vist.")
    message_en = ("You signed in as a patient, but the EHR gave the app another patient record than your own. "
                  "The app only shows citizens their own data. Nothing was shown.")
    todo_nb = "Logg inn på nytt og velg din egen journal. Kontakt brukerstøtte for journalsystemet hvis det skjer igjen."
    todo_en = "Sign in again and choose your own record. Contact the EHR's support if it happens again."


class SessionExpired(AppError):
    status = 401
    code = "session_expired"
    title_nb, title_en = "Økten er utløpt", "The session has expired"
    message_nb = "Nettleserøkten din er utløpt eller finnes ikke lenger."
    message_en = "Your browser session has expired or no longer exists."
    todo_nb = "Start appen på nytt fra journalsystemet (eller logg inn på nytt)."
    todo_en = "Launch the app again from the EHR (or sign in again)."


class NotLaunched(AppError):
    status = 401
    code = "not_launched"
    title_nb, title_en = "Appen er ikke startet", "The app has not been launched"
    message_nb = "Appen må startes fra et journalsystem eller via innlogging."
    message_en = "The app must be launched from an EHR or through sign-in."
    todo_nb = "Åpne appen fra pasientens journal, eller start innlogging på nytt."
    todo_en = "Open the app from the patient's record, or start signing in again."


_HTTP_TEXTS = {
    404: ("Siden finnes ikke", "Page not found", "Sjekk adressen.", "Check the address."),
    405: ("Metoden er ikke tillatt", "Method not allowed", "Bruk lenkene i appen.", "Use the app's links."),
    413: ("Skjemaet eller forespørselen er for stor", "The form or request is too large",
          "Send mindre: et skjema i appen trenger bare noen få tegn. Ingenting er lagret eller endret.",
          "Send less: a form in the app needs only a few characters. Nothing was saved or changed."),
}


def wants_json() -> bool:
    """API paths, and clients that prefer JSON to HTML, get JSON errors."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(error: AppError) -> Response:
    """The one place an AppError becomes a response."""
    if wants_json():
        body: dict[str, Any] = {"code": error.code, "message": error.message()}
        body.update(error.facts)
        response = jsonify({"error": body})
    elif isinstance(session, NullSession):  # sessionless paths (assets): no page, it would need a CSRF token
        response = Response(f"{error.title_en} / {error.title_nb}\n", mimetype="text/plain")
    else:
        response = Response(render_template("error.html", error=error, home_url="/"), mimetype="text/html")
    response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    title_nb, title_en, todo_nb, todo_en = _HTTP_TEXTS.get(
        code, ("Ugyldig forespørsel", "Bad request", "Prøv igjen.", "Try again.")
    )
    error = AppError()
    error.status, error.code = code, (exc.name or "error").lower().replace(" ", "_")
    error.title_nb, error.title_en = title_nb, title_en
    error.message_nb, error.message_en = title_nb, title_en
    error.todo_nb, error.todo_en = todo_nb, todo_en
    return render_error(error)


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return render_error(AppError())


def init_app(app: Flask) -> None:
    """Install the handlers: our errors, werkzeug's HTTP errors, and anything unexpected."""
    app.register_error_handler(AppError, render_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
