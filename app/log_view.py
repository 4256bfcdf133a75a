"""The access log in plain words: one stored entry becomes what the citizen reads (bokmål first, English second).

Each entry answers: when, who (name, role, HPR number), which organisation, what (which measurements, which
period), through which system, on what basis, and whether it was refused and why. The JSON API returns the
same facts, structured, with these words beside them.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from app.vitals import OSLO, VITALS, oslo

_NAMES = {code: (v.label_nb, v.label_en) for v in VITALS.values() for code in v.loinc}
_NAMES["access-log"] = ("innsynsloggen", "the access log")

BASIS = {
    "care-relationship": ("Behandlingsrelasjon: journalsystemet åpnet appen fra journalen din",
                          "Care relationship: the EHR opened the app from your record"),
    "emergency": ("Nødsituasjon: journalsystemet oppga at det hastet", "Emergency: the EHR said it was urgent"),
    "own-data": ("Dine egne data", "Your own data"),
    "consent": ("Samtykke", "Consent"),
}
OUTCOME = {"permitted": ("Vist", "Shown"), "refused": ("Avvist", "Refused"), "failed": ("Mislyktes", "Failed")}
REASON = {
    "blocked": ("du har sperret denne personen", "you have blocked this person"),
    "another patient was requested": ("det ble bedt om en annen pasient enn den journalsystemet åpnet",
                                      "another patient than the one the EHR opened was asked for"),
    "blocks-unavailable": ("sperringer kunne ikke sjekkes, så ingenting ble vist",
                           "blocks could not be checked, so nothing was shown"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "nb" else pair[1]


def when_text(at: str, lang: str = "nb") -> str:
    """A stored UTC time in Europe/Oslo: `22.11.2026 kl. 02:36` in bokmål, `22.11.2026 at 02:36` in English."""
    return oslo(datetime.fromisoformat(at), lang)


def _day(iso: str) -> str:
    return ".".join(reversed(iso.split("-"))) if len(iso) == 10 else iso


def what_words(row: dict[str, Any], lang: str) -> str:
    """`Puls, Systolisk blodtrykk …; hele perioden` or `…; 01.01.2025–31.01.2025`."""
    names = [_pick(_NAMES[c], lang) if c in _NAMES else c for c in row["what"]]
    start, end = row.get("period_from") or "", row.get("period_to") or ""
    if not start and not end:
        period = "alle datoer" if lang == "nb" else "all dates"
    else:
        period = f"{_day(start) or '…'}–{_day(end) or '…'}"
    return f"{', '.join(names)}; {period}" if names else period


def who_words(row: dict[str, Any], lang: str) -> str:
    """`Kari Lege (Lege, HPR 1234567)`; the citizen is `Du selv`."""
    if row["actor_type"] == "citizen":
        return "Du selv" if lang == "nb" else "You"
    details = [row["actor_role"]] if row["actor_role"] else []
    if row["actor_hpr"]:
        details.append(f"HPR {row['actor_hpr']}")
    name = row["actor_name"] or ("Ukjent navn" if lang == "nb" else "Unknown name")
    return f"{name} ({', '.join(details)})" if details else name


def summary(row: dict[str, Any], lang: str) -> str:
    """One sentence saying what happened."""
    nb = lang == "nb"
    target = f"{row.get('target_name') or ('ukjent navn' if nb else 'unknown name')} (HPR {row.get('target_hpr') or '–'})"
    action, outcome = row["action"], row["outcome"]
    if action == "block":
        return f"Du sperret {target}." if nb else f"You blocked {target}."
    if action == "unblock":
        return f"Du opphevet sperringen av {target}." if nb else f"You lifted the block on {target}."
    if action == "view-log":
        return "Du så innsynsloggen din." if nb else "You viewed your access log."
    who = who_words(row, lang)
    if outcome == "refused":
        return f"{who} ble nektet å se målingene dine." if nb else f"{who} was refused your measurements."
    if outcome == "failed":
        return f"{who} prøvde å se målingene dine, men oppslaget mislyktes." if nb else \
            f"{who} tried to see your measurements, but the lookup failed."
    return f"{who} så målingene dine." if nb else f"{who} saw your measurements."


def words(row: dict[str, Any], lang: str) -> dict[str, str]:
    """Every fact of the entry as text in one language."""
    outcome = _pick(OUTCOME.get(row["outcome"], (row["outcome"], row["outcome"])), lang)
    reason = row.get("reason") or ""
    if reason:
        outcome = f"{outcome}: {_pick(REASON.get(reason, (reason, reason)), lang)}"
    return {
        "summary": summary(row, lang), "when": when_text(row["at"], lang), "who": who_words(row, lang),
        "organisation": row["actor_org"] or "–", "what": what_words(row, lang),
        "system": row["system_name"] or row["issuer"] or "–",
        "basis": _pick(BASIS.get(row["basis"], (row["basis"], row["basis"])), lang), "outcome": outcome,
    }


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """The entry for `getAccessLog`: the stored facts, structured, with the words in both languages."""
    target = {"hpr": row.get("target_hpr"), "name": row.get("target_name")} if row.get("target_hpr") else None
    return {
        "id": row["id"], "at": row["at"], "action": row["action"], "outcome": row["outcome"],
        "reason": row["reason"] or None,
        "actor": {"type": row["actor_type"], "name": row["actor_name"], "hpr": row["actor_hpr"] or None,
                  "role": row["actor_role"] or None, "organisation": row["actor_org"] or None,
                  "reference": row["actor_ref"] or None},
        "what": {"codes": row["what"], "period": {"from": row["period_from"] or None, "to": row["period_to"] or None}},
        "system": {"name": row["system_name"], "issuer": row["issuer"], "client_id": row["client_id"]},
        "basis": row["basis"], "target": target,
        "words": {"nb": words(row, "nb"), "en": words(row, "en")},
    }


def day_bounds(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """Oslo calendar days `start`..`end` (inclusive) as UTC instants in the log's format (`until` exclusive).

    At the ends of the calendar (0001-01-01, 9999-12-31) the instant cannot be written, and no entry lies beyond
    it: that side is left open (None) instead."""
    def utc(day: date, days: int = 0) -> str | None:
        try:
            midnight = datetime.combine(day + timedelta(days=days), time(0), OSLO).astimezone(timezone.utc)
        except OverflowError:
            return None
        return midnight.isoformat(timespec="milliseconds")

    return (utc(start) if start else None, utc(end, 1) if end else None)
