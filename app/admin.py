"""The admin page (`/admin/`): register and remove EHRs, rotate the signing keys, see who changed what.

Protected by HTTP Basic against the configured credentials (`app/admin_auth.py`); with none configured it
answers 403 and says how to switch it on. Authentication is checked first, then CSRF (flask-wtf's
synchronizer token, `csrf_token` in every form) on each POST, so a request without credentials learns nothing
and a forged one changes nothing. Each change is stored with `admin:<name>` in the admin change log.
"""
from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request

from app import ehr_admin, keys_admin
from app.admin_auth import parse_users, verify
from app.csrf import csrf
from app.ehr_check import RegistrationInput, RegistrationRefused
from app.ehr_store import EhrStore
from app.errors import AppError, render_error
from smart.client import current_client

bp = Blueprint("admin", __name__, url_prefix="/admin")
REALM = 'Basic realm="Pasientens maledata admin", charset="UTF-8"'


class AdminDisabled(AppError):
    status = 403
    code = "admin_disabled"
    title_nb, title_en = "Administrasjon er slått av", "Administration is switched off"
    message_nb = "Ingen administratorer er satt opp, så administrasjonssiden er stengt."
    message_en = "No administrators are configured, so the admin page is closed."
    todo_nb = "Lag en oppføring med `pmd admin hash-password NAVN` og sett PMD_ADMIN_USERS, eller bruk `pmd ehr …`."
    todo_en = "Make an entry with `pmd admin hash-password NAME` and set PMD_ADMIN_USERS, or use `pmd ehr …`."


class AdminAuthRequired(AppError):
    status = 401
    code = "admin_auth_required"
    title_nb, title_en = "Innlogging kreves", "Sign-in required"
    message_nb = "Administrasjonssiden krever brukernavn og passord."
    message_en = "The admin page needs a user name and password."
    todo_nb = "Logg inn med en administratorkonto."
    todo_en = "Sign in with an administrator account."


def _users() -> dict[str, str]:
    return current_app.extensions["admin_users"]


@bp.before_request
def _guard() -> Response | None:
    """No configured admin: 403. No or wrong credentials: 401 with a Basic challenge. Then CSRF on POST."""
    users = _users()
    if not users:
        return render_error(AdminDisabled())
    auth = request.authorization
    if auth is None or auth.type != "basic" or not verify(users, auth.username or "", auth.password or ""):
        response = render_error(AdminAuthRequired())
        response.headers["WWW-Authenticate"] = REALM
        return response
    g.admin_user = auth.username
    csrf.protect()
    return None


def _store() -> EhrStore:
    stored = current_client().registry.stored
    assert isinstance(stored, EhrStore)
    return stored


def _actor() -> str:
    return f"admin:{g.admin_user}"


def _page(status: int = 200, **result: Any) -> Response:
    client = current_client()
    now = time.time()
    response = Response(render_template(
        "admin.html",
        registrations=[ehr_admin.describe(r) for r in client.registry.all()],
        keys=[{"kid": k.kid, "alg": k.alg, "created": keys_admin.when(k.created), "signing": k.retired is None,
               "published": k.published(now), "until": keys_admin.when(k.published_until)} for k in client.keys.info()],
        changes=_store().changes(20),
        user=g.admin_user,
        form=request.form if request.method == "POST" else {},
        **result,
    ), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> Response:
    return _page()


def _origins(text: str) -> tuple[str, ...]:
    return tuple(o for o in re.split(r"[\s,]+", text) if o)


@bp.post("/ehrs")
def add() -> Response:
    """Register an EHR: the same checks and SMART-configuration probe as `pmd ehr add`."""
    form = request.form
    given = RegistrationInput(
        iss=form.get("iss", ""), iss_prefix=form.get("iss_prefix") == "on", client_id=form.get("client_id", ""),
        auth=form.get("auth", ""), secret_env=form.get("secret_env", ""),
        frame_origins=_origins(form.get("frame_origins", "")), measurements=form.get("measurements", "ehr"),
        store_url=form.get("store_url", ""), name=form.get("name", ""), signing_alg=form.get("signing_alg", "RS384"),
        probe_iss=form.get("probe_iss", ""), assume_pkce=form.get("assume_pkce") == "on",
    )
    try:
        registration, report = ehr_admin.add(given, current_client().registry, _store(), current_app.config, _actor())
    except RegistrationRefused as error:
        return _page(error.status, refused=error)
    return _page(201, added=registration, report=report)


@bp.post("/ehrs/remove")
def remove() -> Response:
    try:
        registration = ehr_admin.remove(request.form.get("issuer", ""), current_client().registry, _store(), _actor())
    except RegistrationRefused as error:
        return _page(error.status, refused=error)
    return _page(removed=registration)


@bp.post("/keys/rotate")
def rotate() -> Response:
    new, retired = keys_admin.rotate(current_app.config, _store(), _actor())
    return _page(rotated={"new": new, "retired": retired})


def init_app(app: Flask) -> None:
    """Read the credentials (a bad entry stops the start), exempt the blueprint from the global CSRF hook
    (it checks CSRF itself, after authentication) and mount it."""
    app.extensions["admin_users"] = parse_users(str(app.config.get("ADMIN_USERS") or ""))
    csrf.exempt(bp)
    app.register_blueprint(bp)
