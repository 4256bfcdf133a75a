"""The citizen's side: their access log (`/access-log`) and their blocks (`/blocks`), as pages and as JSON.

Only a citizen's session (standalone launch, `fhirUser` = their own Patient) gets here; a professional's gets 403.
Who the citizen is comes from the launch alone: their Patient on the EHR's FHIR server, and its fødselsnummer.
No parameter can name anyone else; one that tries is refused (403). Forms and JSON calls that change anything
carry the CSRF token (app/csrf.py). JSON: `getAccessLog`, `listBlocks`, `createBlock`, `deleteBlock`
(app/openapi.py); `_format=fhir` gives a FHIR Bundle of AuditEvent or Consent (app/fhir_export.py).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for

from app import blocking, fhir_export, log_view, lookup
from app.access_log import current_log
from app.api import PATIENT_KEYS, BadParameter, WrongPatient, named_patients
from app.citizen_text import TEXT
from app.errors import AppError
from app.fhir_reader import FhirReadError, read_resource
from app.i18n import current_lang
from smart.context import Launch, current_launch, fhir_session

bp = Blueprint("citizen", __name__)

PAGE_SIZE = 25
MAX_LIMIT = 200
FHIR_JSON = "application/fhir+json"
_FNR_TTL = 600.0
_FNR_CACHE_SIZE = 4096
_fnr_cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()


class IdentityUnavailable(AppError):
    status = 502
    code = "identity_unavailable"
    title_nb, title_en = "Vi fikk ikke bekreftet hvem du er", "We could not confirm who you are"
    message_nb = "Journalsystemet svarte ikke da appen skulle lese pasientopplysningene dine. Ingenting er vist."
    message_en = "Your health record system did not answer when the app read your patient details. Nothing is shown."
    todo_nb, todo_en = "Prøv igjen om litt, eller logg inn på nytt.", "Try again shortly, or sign in again."


def _refuse_other_patients(launch: Launch, me: blocking.Me) -> None:
    """Any parameter, form field, JSON member or header naming a patient must name the citizen themself."""
    named = named_patients(keys=PATIENT_KEYS | {"patient_ref", "patient_identifier", "patient-identifier"})
    own = {launch.patient_id, me.patient_identifier, me.patient_ref} - {""}
    if any(value.rsplit("/", 1)[-1] not in own and value not in own for value in named):
        raise WrongPatient()


def _me() -> tuple[Launch, blocking.Me]:
    """The signed-in citizen: patient from the launch, fødselsnummer from their Patient (cached for a while)."""
    launch = current_launch()
    blocking.require_citizen(launch)
    key = (launch.fhir_base, str(launch.patient_id))
    cached = _fnr_cache.get(key)
    if cached and time.monotonic() - cached[0] < _FNR_TTL:
        fnr = cached[1]
    else:
        try:
            patient = read_resource(fhir_session(), launch.fhir_base, f"Patient/{launch.patient_id}")
        except FhirReadError as exc:
            raise IdentityUnavailable(exc.code) from exc
        fnr = lookup.national_id(patient)
        _fnr_cache[key] = (time.monotonic(), fnr)
        _fnr_cache.move_to_end(key)
        while len(_fnr_cache) > _FNR_CACHE_SIZE:
            _fnr_cache.popitem(last=False)
    me = blocking.me_from(launch, fnr)
    _refuse_other_patients(launch, me)
    return launch, me


def _int(name: str, low: int = 1, high: int = 2**62) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(f"{name}={raw[:20]}")
    return int(raw)


def _day(name: str) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(f"{name}={raw[:20]}") from None


def _filters() -> dict[str, Any]:
    """Period (Oslo days, inclusive) and person (HPR number) from the query; bad values are a 400."""
    start, end = _day("from"), _day("to")
    if start and end and start > end:
        raise BadParameter("from/to")
    hpr = request.args.get("hpr", "").strip()
    since, until = log_view.day_bounds(start, end)
    return {"since": since, "until": until, "actor_hpr": blocking.checked_hpr(hpr) if hpr else None,
            "query": {k: request.args[k] for k in ("from", "to", "hpr") if request.args.get(k)}}


def _page(me: blocking.Me, filters: dict[str, Any], *, own: bool, before: int | None, limit: int) -> tuple[list, int | None]:
    rows = current_log().for_patient(me.patient_identifier, me.patient_ref, before_id=before, limit=limit + 1,
                                     actor_hpr=filters["actor_hpr"], since=filters["since"], until=filters["until"],
                                     own=own)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more and rows else None)


def _log_view(launch: Launch, me: blocking.Me) -> None:
    """The citizen opening their log is counted (evaluation) and shown among their own views."""
    entry = lookup.entry_for(launch, outcome="permitted", what=["access-log"], period=lookup.Period(None, None),
                             patient_identifier=me.patient_identifier, action="view-log")
    lookup.write(entry)


@bp.get("/access-log")
def access_log_page() -> str:
    """Who has used the citizen's measurements, newest first, with their own views apart."""
    launch, me = _me()
    lang = current_lang()
    filters = _filters()
    before, own_before = _int("before"), _int("own_before")
    if before is None and own_before is None:
        _log_view(launch, me)
    rows, next_before = _page(me, filters, own=False, before=before, limit=PAGE_SIZE)
    own_rows, next_own = _page(me, filters, own=True, before=own_before, limit=PAGE_SIZE)
    blocked = {b.hpr for b in blocking.blocks_of(me)}
    return render_template(
        "access_log.html", t=TEXT[lang], lang=lang, other_lang="en" if lang == "nb" else "nb", launch=launch,
        entries=[(row, log_view.words(row, lang)) for row in rows],
        own_entries=[(row, log_view.words(row, lang)) for row in own_rows], blocked=blocked, query=filters["query"],
        next_url=url_for(".access_log_page", **filters["query"], before=next_before) if next_before else None,
        next_own_url=url_for(".access_log_page", **filters["query"], own_before=next_own) if next_own else None,
        paged=before is not None or own_before is not None,
    )


@bp.get("/blocks")
def blocks_page() -> str:
    launch, me = _me()
    return _render_blocks(launch, me)


def _render_blocks(launch: Launch, me: blocking.Me, error: AppError | None = None, typed: str = "") -> Any:
    """The blocks page; after a change it confirms in one sentence what now holds, after a refusal it says why."""
    lang = current_lang()
    t = TEXT[lang]
    confirm = ""
    for key in ("placed", "lifted"):
        hpr = request.args.get(key, "")
        block = next((b for b in blocking.blocks_of(me, include_lifted=True) if b.hpr == hpr), None) if hpr else None
        if block is not None:
            confirm = t[key].format(who=f"{block.practitioner_name or '–'} (HPR {block.hpr})")
    body = render_template(
        "blocks.html", t=t, lang=lang, other_lang="en" if lang == "nb" else "nb", launch=launch,
        blocks=blocking.blocks_of(me), confirm=confirm, error=error, typed=typed, when=log_view.when_text,
    )
    return (body, error.status) if error else body


@bp.post("/blocks")
def place_block_form() -> Any:
    """The form on the blocks page and the "block this person" button in the log."""
    launch, me = _me()
    hpr = request.form.get("hpr", "")
    try:
        block = blocking.place(fhir_session(), launch, me, hpr)
    except (blocking.InvalidHpr, blocking.UnknownHpr, blocking.HprNotConfirmed, blocking.AlreadyBlockedError) as exc:
        return _render_blocks(launch, me, exc, typed=hpr[:20])
    return redirect(url_for(".blocks_page", placed=block.hpr), code=303)


@bp.post("/blocks/<hpr>/lift")
def lift_block_form(hpr: str) -> Any:
    launch, me = _me()
    try:
        block = blocking.lift(launch, me, hpr)
    except (blocking.InvalidHpr, blocking.NoSuchBlockError) as exc:
        return _render_blocks(launch, me, exc)
    return redirect(url_for(".blocks_page", lifted=block.hpr), code=303)


def _wants_fhir() -> bool:
    fmt = request.args.get("_format", "json")
    if fmt not in ("json", "fhir", "application/json", FHIR_JSON):
        raise BadParameter(f"_format={fmt[:30]}")
    return fmt in ("fhir", FHIR_JSON)


def _json(body: dict[str, Any], status: int = 200, fhir: bool = False) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if fhir:
        response.mimetype = FHIR_JSON
    return response


@bp.get("/api/access-log")
def get_access_log() -> Response:
    """operationId getAccessLog: one page of the citizen's log (`section=others|own`), as JSON or FHIR."""
    launch, me = _me()
    filters = _filters()
    fhir = _wants_fhir()
    section = request.args.get("section", "others")
    if section not in ("others", "own"):
        raise BadParameter(f"section={section[:20]}")
    before, limit = _int("before"), _int("limit", 1, MAX_LIMIT) or PAGE_SIZE
    if before is None:
        _log_view(launch, me)
    rows, next_before = _page(me, filters, own=section == "own", before=before, limit=limit)
    base = {**filters["query"], "section": section, "limit": limit, **({"_format": "fhir"} if fhir else {})}
    next_url = url_for(".get_access_log", **base, before=next_before) if next_before else None
    if fhir:
        service = current_app.config["APP_BASE_URL"]
        self_url = url_for(".get_access_log", **base, **({"before": before} if before else {}))
        return _json(fhir_export.bundle([fhir_export.audit_event(r, service) for r in rows], self_url, next_url),
                     fhir=True)
    return _json({"section": section, "entries": [log_view.as_json(r) for r in rows], "next": next_url})


def _block_json(block: Any) -> dict[str, Any]:
    return {"hpr": block.hpr, "name": block.practitioner_name, "practitioner": block.practitioner_ref or None,
            "placed_at": block.placed_at, "lifted_at": block.lifted_at, "active": block.active,
            "url": url_for(".delete_block", hpr=block.hpr)}


@bp.get("/api/blocks")
def list_blocks() -> Response:
    """operationId listBlocks: the citizen's active blocks (`include_lifted=true` adds lifted ones)."""
    _launch, me = _me()
    fhir = _wants_fhir()
    include = request.args.get("include_lifted", "false")
    if include not in ("true", "false"):
        raise BadParameter(f"include_lifted={include[:10]}")
    blocks = blocking.blocks_of(me, include_lifted=include == "true")
    if fhir:
        return _json(fhir_export.bundle([fhir_export.consent(b) for b in blocks], request.full_path), fhir=True)
    return _json({"blocks": [_block_json(b) for b in blocks]})


@bp.post("/api/blocks")
def create_block() -> Response:
    """operationId createBlock: `{"hpr": "…"}`; 201 with the block, or a clear 400/409/422."""
    launch, me = _me()
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(body, dict):
        raise BadParameter("body")
    block = blocking.place(fhir_session(), launch, me, body.get("hpr"))
    response = _json({"block": _block_json(block)}, 201)
    response.headers["Location"] = url_for(".delete_block", hpr=block.hpr)
    return response


@bp.delete("/api/blocks/<hpr>")
def delete_block(hpr: str) -> Response:
    """operationId deleteBlock: lift the block on this HPR number; 404 when there is none."""
    launch, me = _me()
    block = blocking.lift(launch, me, hpr)
    return _json({"block": _block_json(block)})
