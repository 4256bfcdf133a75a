"""Placing and lifting a block: the citizen's right to shut out a named health professional (design.md).

Only the signed-in citizen acts, and only on their own blocks: who they are comes from the launch, never from
the request. The HPR number must be well formed and must name a real professional: first someone from the
citizen's own access log (the usual case, "block this person"), else the EHR's FHIR server is searched for
`Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|<hpr>` with the citizen's token. When that server cannot
answer (it does not grant the search, or is down) and the log does not know the number either, the block is
refused as "not confirmed" rather than placed on a number that may be mistyped and would protect nobody.
Placing and lifting are logged; if the log cannot be written, the change is undone (nothing half-written).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from flask import current_app

from app.access_log import current_log
from app.blocks import AlreadyBlocked, Block, BlocksUnavailable, NoSuchBlock, current_blocks
from app.errors import AppError
from app.identifiers import HPR, is_valid_hpr
from app.lookup import LogUnavailable, Period, entry_for, patient_ref, write
from smart.context import Launch
from smart.fhir_user import human_name


class CitizenOnly(AppError):
    status = 403
    code = "citizen_only"
    title_nb, title_en = "Bare for pasienten selv", "Only for the patient themself"
    message_nb = "Innsynsloggen og sperringer kan bare ses og endres av pasienten selv, etter innlogging."
    message_en = "The access log and blocks can only be seen and changed by the patient themself, after signing in."
    todo_nb = "Pasienten logger inn selv og åpner appen direkte."
    todo_en = "The patient signs in and opens the app directly."


class InvalidHpr(AppError):
    status = 400
    code = "invalid_hpr"
    title_nb, title_en = "Ugyldig HPR-nummer", "Invalid HPR number"
    message_nb = "Et HPR-nummer har 7 til 9 sifre, og bare sifre."
    message_en = "An HPR number has 7 to 9 digits, and digits only."
    todo_nb = "Sjekk nummeret. Du finner det i innsynsloggen, eller i Helsepersonellregisteret."
    todo_en = "Check the number. You find it in your access log, or in the Health Personnel Register."


class UnknownHpr(AppError):
    status = 422
    code = "unknown_hpr"
    title_nb, title_en = "Ukjent HPR-nummer", "Unknown HPR number"
    message_nb = "Ingen helsepersonell med dette HPR-nummeret er kjent. Ingen sperring er lagt inn."
    message_en = "No health professional with this HPR number is known. No block was placed."
    todo_nb = "Sjekk nummeret, eller sperr personen fra en linje i innsynsloggen."
    todo_en = "Check the number, or block the person from a line in your access log."


class HprNotConfirmed(AppError):
    status = 422
    code = "hpr_not_confirmed"
    title_nb, title_en = "HPR-nummeret kunne ikke bekreftes", "The HPR number could not be confirmed"
    message_nb = ("Journalsystemet kunne ikke bekrefte hvem som har dette HPR-nummeret, og personen finnes ikke i "
                  "innsynsloggen din. Ingen sperring er lagt inn.")
    message_en = ("Your health record system could not confirm who has this HPR number, and the person is not in "
                  "your access log. No block was placed.")
    todo_nb = "Prøv igjen senere, eller sperr personen fra en linje i innsynsloggen."
    todo_en = "Try again later, or block the person from a line in your access log."


class AlreadyBlockedError(AppError):
    status = 409
    code = "already_blocked"
    title_nb, title_en = "Allerede sperret", "Already blocked"
    message_nb = "Du har allerede sperret dette helsepersonellet. Sperringen gjelder fortsatt."
    message_en = "You have already blocked this health professional. The block still holds."
    todo_nb, todo_en = "Du trenger ikke gjøre noe mer.", "There is nothing more to do."


class NoSuchBlockError(AppError):
    status = 404
    code = "no_such_block"
    title_nb, title_en = "Ingen sperring å oppheve", "No block to lift"
    message_nb = "Du har ingen sperring på dette HPR-nummeret. Ingenting er endret."
    message_en = "You have no block on this HPR number. Nothing was changed."
    todo_nb, todo_en = "Se listen over sperringene dine.", "See the list of your blocks."


class BlockStoreUnavailable(AppError):
    status = 503
    code = "blocks_unavailable"
    title_nb, title_en = "Sperringer er ikke tilgjengelige", "Blocks are not available"
    message_nb = "Sperringene kan ikke leses eller lagres nå. Ingenting er endret."
    message_en = "Blocks cannot be read or saved right now. Nothing was changed."
    todo_nb, todo_en = "Prøv igjen om litt.", "Try again shortly."


@dataclass(frozen=True)
class Me:
    """The signed-in citizen as the log and the block store know them."""

    patient_identifier: str  # fødselsnummer, "" when the EHR gave none
    patient_ref: str


def require_citizen(launch: Launch) -> None:
    """Blocks and the access log belong to the citizen: a professional's session gets 403."""
    if launch.user.kind != "citizen" or not launch.patient_id:
        raise CitizenOnly()


def checked_hpr(raw: Any) -> str:
    """The HPR number as typed (spaces allowed around it), or InvalidHpr (400)."""
    hpr = raw.strip().replace(" ", "") if isinstance(raw, str) else ""
    if not is_valid_hpr(hpr):
        raise InvalidHpr(detail=hpr[:20] if hpr else "")
    return hpr


def blocks_of(me: Me, *, include_lifted: bool = False) -> list[Block]:
    try:
        return current_blocks().for_patient(me.patient_identifier, me.patient_ref, include_lifted=include_lifted)
    except BlocksUnavailable as exc:
        raise BlockStoreUnavailable() from exc


def place(http: requests.Session, launch: Launch, me: Me, raw_hpr: Any) -> Block:
    """Block a named professional for this citizen; logged, or not placed at all."""
    hpr = checked_hpr(raw_hpr)
    store = current_blocks()
    try:
        existing = store.blocking(me.patient_identifier, me.patient_ref, hpr)
        if existing is not None:
            raise AlreadyBlockedError()
        name, reference = _who(http, launch, me, hpr)
        block = store.place(me.patient_identifier, me.patient_ref, hpr, name, reference)
    except AlreadyBlocked as exc:
        raise AlreadyBlockedError() from exc
    except BlocksUnavailable as exc:
        raise BlockStoreUnavailable() from exc
    try:
        _log(launch, me, "block", block)
    except LogUnavailable:
        store.undo_place(block)
        raise
    return block


def lift(launch: Launch, me: Me, raw_hpr: Any) -> Block:
    """Lift this citizen's block on an HPR number; logged, or not lifted at all."""
    hpr = checked_hpr(raw_hpr)
    store = current_blocks()
    try:
        block = store.lift(me.patient_identifier, me.patient_ref, hpr)
    except NoSuchBlock as exc:
        raise NoSuchBlockError(detail=hpr) from exc
    except BlocksUnavailable as exc:
        raise BlockStoreUnavailable() from exc
    try:
        _log(launch, me, "unblock", block)
    except LogUnavailable:
        store.undo_lift(block)
        raise
    return block


def _log(launch: Launch, me: Me, action: str, block: Block) -> None:
    entry = entry_for(launch, outcome="permitted", what=[], period=Period(None, None),
                      patient_identifier=me.patient_identifier, action=action)
    entry.target_hpr, entry.target_name = block.hpr, block.practitioner_name
    write(entry)


def _who(http: requests.Session, launch: Launch, me: Me, hpr: str) -> tuple[str, str]:
    """(name, reference) of the professional with this HPR number; UnknownHpr or HprNotConfirmed otherwise."""
    seen = current_log().for_patient(me.patient_identifier, me.patient_ref, actor_hpr=hpr, limit=1)
    if seen:
        ref = seen[0]["actor_ref"]
        if ref and "://" not in ref and seen[0]["issuer"]:
            ref = f"{seen[0]['issuer'].rstrip('/')}/{ref}"
        return seen[0]["actor_name"], ref
    found = _search_practitioner(http, launch.fhir_base, hpr)
    if found is None:
        raise HprNotConfirmed(detail=hpr)
    if not found:
        raise UnknownHpr(detail=hpr)
    practitioner = found[0]
    return human_name(practitioner), f"{launch.fhir_base.rstrip('/')}/Practitioner/{practitioner.get('id', '')}"


def _search_practitioner(http: requests.Session, base: str, hpr: str) -> list[dict[str, Any]] | None:
    """Practitioners with this HPR number on the EHR's FHIR server, or None when the server cannot say."""
    try:
        response = http.get(f"{base.rstrip('/')}/Practitioner", params={"identifier": f"{HPR}|{hpr}"},
                            timeout=current_app.config.get("HTTP_TIMEOUT", 10), allow_redirects=False)
        bundle = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    return [e["resource"] for e in bundle.get("entry") or []
            if isinstance(e, dict) and (e.get("resource") or {}).get("resourceType") == "Practitioner"
            and any(i.get("system") == HPR and i.get("value") == hpr for i in e["resource"].get("identifier") or [])]


def me_from(launch: Launch, patient_identifier: str) -> Me:
    return Me(patient_identifier=patient_identifier, patient_ref=patient_ref(launch))
