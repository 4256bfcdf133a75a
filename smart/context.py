"""The launch context the rest of the app reads, and an authorised HTTP session for the EHR's FHIR server.

`current_launch()` says who the patient is, who the user is and what was granted; `fhir_session()` gives a
`requests.Session` carrying a bearer token that is refreshed shortly before it expires (SMART App Launch 2.2
"Refresh access token"). Both read the server-side session; tokens never reach the browser.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, g, session

from app.db import get_db
from app.errors import NotLaunched, SessionExpired, TokenEndpointFailed
from app.sessions import ServerSession, SessionStore
from smart.client import current_client
from smart.registry import Registration

REFRESH_MARGIN = 60  # seconds before expiry at which the token is refreshed
LAUNCH_KEY = "launch"
_refresh_lock = threading.Lock()


@dataclass(frozen=True)
class Organization:
    reference: str
    name: str
    orgnr: str


@dataclass(frozen=True)
class User:
    """The signed-in user: a practitioner (with HPR number) or a citizen (the patient)."""

    kind: str  # practitioner | citizen | other
    reference: str
    name: str
    hpr: str
    role: str
    organization: Organization | None


@dataclass(frozen=True)
class Launch:
    """What the EHR told us at launch (SMART App Launch 2.2 "Launch context arrives with your access_token")."""

    patient_id: str | None
    fhir_base: str
    user: User
    need_patient_banner: bool
    smart_style_url: str | None
    granted_scopes: tuple[str, ...]
    registration: Registration
    encounter_id: str | None
    intent: str | None
    tenant: str | None
    launched_at: int


def _stored_launch() -> dict[str, Any]:
    data = session.get(LAUNCH_KEY)
    if data:
        return data
    if getattr(session, "stale", False):
        raise SessionExpired()
    raise NotLaunched()


def current_launch() -> Launch:
    """The launch of this browser session; raises NotLaunched or SessionExpired (both 401)."""
    data = _stored_launch()
    registration = current_client().registry.find(data["iss"])
    if registration is None:
        raise NotLaunched("iss")
    context, user = data["context"], data["user"]
    org = user.get("organization")
    return Launch(
        patient_id=context.get("patient"),
        fhir_base=data["fhir_base"],
        user=User(
            kind=user["kind"],
            reference=user["reference"],
            name=user.get("name", ""),
            hpr=user.get("hpr", ""),
            role=user.get("role", ""),
            organization=Organization(org["reference"], org["name"], org["orgnr"]) if org else None,
        ),
        need_patient_banner=context.get("need_patient_banner") is not False,
        smart_style_url=context.get("smart_style_url"),
        granted_scopes=tuple(data["scope"].split()),
        registration=registration,
        encounter_id=context.get("encounter"),
        intent=context.get("intent"),
        tenant=context.get("tenant"),
        launched_at=int(data["launched_at"]),
    )


def fhir_session() -> requests.Session:
    """A session for the launch's FHIR server with a fresh bearer token; closed when the request ends."""
    launch = current_launch()
    token = _fresh_access_token(launch.registration)
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})
    g.setdefault("smart_fhir_sessions", []).append(http)
    return http


def _fresh_access_token(registration: Registration) -> str:
    token = session[LAUNCH_KEY]["token"]
    if not _expiring(token):
        return token["access_token"]
    with _refresh_lock:
        token = _latest_stored_token() or token
        if _expiring(token):
            token = _refresh(registration, token)
    data = dict(session[LAUNCH_KEY])
    data["token"] = token
    session[LAUNCH_KEY] = data
    return token["access_token"]


def _expiring(token: dict[str, Any]) -> bool:
    expires_at = token.get("expires_at")
    return expires_at is not None and expires_at - time.time() < REFRESH_MARGIN


def _latest_stored_token() -> dict[str, Any] | None:
    """The token as another request may have refreshed it meanwhile."""
    if not isinstance(session, ServerSession):
        return None
    stored = SessionStore(get_db()).load(session.sid) or {}
    return (stored.get(LAUNCH_KEY) or {}).get("token")


def _refresh(registration: Registration, token: dict[str, Any]) -> dict[str, Any]:
    if not token.get("refresh_token"):
        raise SessionExpired("token")
    client = current_client()
    config = client.discovery.configuration(registration)
    try:
        fresh = client.token_client(registration, config).refresh(token["refresh_token"])
    except TokenEndpointFailed as exc:
        raise SessionExpired("refresh") from exc
    return stored_token(fresh)


def stored_token(response: dict[str, Any]) -> dict[str, Any]:
    """The parts of a token response kept in the session."""
    return {
        "access_token": response["access_token"],
        "token_type": response.get("token_type", "Bearer"),
        "refresh_token": response.get("refresh_token"),
        "expires_at": response.get("expires_at"),
    }


def _close_sessions(_exc: BaseException | None = None) -> None:
    for http in g.pop("smart_fhir_sessions", []):
        http.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_sessions)
