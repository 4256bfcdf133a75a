"""The launch context the rest of the app reads, and an authorised HTTP session for the EHR's FHIR server.

`current_launch()` says who the patient is, who the user is and what was granted; `fhir_session()` gives a
`requests.Session` carrying a bearer token that is refreshed shortly before it expires (SMART App Launch 2.2
"Refresh access token"). Both read the launch that the request's handle names (`/l/<handle>/…` or an
`X-Launch` header) among this browser session's launches (smart/launches.py); tokens never reach the browser.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, current_app, g, request, session

from app.db import connect, get_db
from app.errors import NotLaunched, SessionExpired, TokenEndpointFailed
from smart.client import current_client
from smart.launches import HANDLE_ENVIRON, HANDLE_PATTERN, LaunchPathMiddleware, LaunchStore, StoredLaunch, new_owner
from smart.registry import Registration

REFRESH_MARGIN = 60  # seconds before expiry at which the token is refreshed
OWNER_KEY = "launch_owner"  # in the session: the random value this browser session's launches are bound to
HANDLE_HEADER = "X-Launch"
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


def request_handle() -> str | None:
    """The launch handle this request names: the `/l/<handle>/` path prefix, else an `X-Launch` header."""
    handle = request.environ.get(HANDLE_ENVIRON) or request.headers.get(HANDLE_HEADER, "").strip()
    return handle or None


def _lookup() -> StoredLaunch | None:
    """This browser session's launch named by the request (expired or not), once per request."""
    if "smart_launch" not in g:
        handle, owner = request_handle(), (session.get(OWNER_KEY) if session else None)
        found = None
        if handle and owner and HANDLE_PATTERN.match(handle):
            found = LaunchStore(get_db()).get(owner, handle)
        g.smart_launch = found
    return g.smart_launch


def _stored_launch() -> StoredLaunch:
    stored = _lookup()
    if stored is None:
        if getattr(session, "stale", False):
            raise SessionExpired()
        raise NotLaunched()
    if stored.expired:
        raise SessionExpired("launch")
    if not g.get("smart_launch_touched"):
        g.smart_launch_touched = True
        LaunchStore(get_db()).touch(stored, int(current_app.config["SESSION_LIFETIME"]))
    return stored


def launched_issuer() -> str | None:
    """The issuer of the request's launch, also when it has expired (for headers); None when there is none."""
    stored = _lookup()
    if stored:
        return stored.data.get("iss")
    handle = request_handle()
    if handle and HANDLE_PATTERN.match(handle) and getattr(session, "stale", False):
        return LaunchStore(get_db()).issuer_of(handle)  # the session is gone, the EHR's frame is not
    return None


def remember_launch(data: dict[str, Any]) -> str:
    """Store a completed launch for this browser session; returns the handle that names it from now on."""
    owner = session.get(OWNER_KEY)
    if not owner:
        owner = session[OWNER_KEY] = new_owner()
    return LaunchStore(get_db()).add(owner, data, int(current_app.config["SESSION_LIFETIME"]))


def current_launch() -> Launch:
    """The launch the request's handle names, of this browser session only; raises NotLaunched or
    SessionExpired (both 401) when there is no handle, an unknown or foreign one, or the launch has expired."""
    data = _stored_launch().data
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
    """The launch's access token, refreshed first when it is about to expire and written back to that launch.

    Concurrency: two requests of the same launch may find the token expiring at once. The lock serialises them
    in this process, and the token is re-read from the store inside it, so the second request uses the token
    the first one got instead of spending the (possibly rotated) refresh token again.
    """
    stored = _stored_launch()
    token = stored.data["token"]
    if not _expiring(token):
        return token["access_token"]
    store = LaunchStore(get_db())
    with _refresh_lock:
        latest = store.get(session[OWNER_KEY], stored.handle)
        token = latest.data["token"] if latest else token
        if _expiring(token):
            token = _refresh(registration, token)
            fresh = token
            store.update(stored.handle, lambda data: {**data, "token": fresh})
    g.smart_launch = StoredLaunch(stored.handle, {**stored.data, "token": token}, stored.expires_at)
    return token["access_token"]


def _expiring(token: dict[str, Any]) -> bool:
    expires_at = token.get("expires_at")
    return expires_at is not None and expires_at - time.time() < REFRESH_MARGIN


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
    """Serve `/l/<handle>/…` as the launch's pages, create the launch table, close FHIR sessions after requests."""
    db = connect(app.config["APP_DB_PATH"])
    try:
        LaunchStore(db).ensure_schema()
    finally:
        db.conn.close()
    app.wsgi_app = LaunchPathMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    app.teardown_appcontext(_close_sessions)
