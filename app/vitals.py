"""Real-world vital-sign Observations (FHIR R4) made into clean per-vital series for charts, tables and export.

Real data is messy (design.md, "Vital signs"): blood pressure comes as a panel or as separate Observations,
codes as LOINC or SNOMED CT or both, units vary. Only final, amended and corrected values are shown; what cannot
be used is skipped and counted with a reason, never guessed and never a crash.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from app import references, units

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
OSLO = ZoneInfo("Europe/Oslo")

# FHIR R4 observation-status: only these carry a result a clinician may act on.
SHOWN_STATUSES = frozenset({"final", "amended", "corrected"})


@dataclass(frozen=True)
class Vital:
    """One vital sign: its codes, canonical UCUM unit, labels and the normal band drawn behind its chart."""

    key: str
    loinc: tuple[str, ...]
    snomed: tuple[str, ...]
    unit: str
    unit_display: str
    label_nb: str
    label_en: str
    normal_low: float | None
    normal_high: float | None
    decimals: int
    molar_mass: float | None = None

    def format(self, value: float, lang: str = "nb") -> str:
        """The value as shown to people, e.g. `37,2 °C` (bokmål uses a decimal comma)."""
        # Half up, as people round (37.25 → 37.3), not Python's half-to-even on binary floats.
        text = str(Decimal(str(value)).quantize(Decimal(1).scaleb(-self.decimals), ROUND_HALF_UP))
        return f"{text.replace('.', ',') if lang == 'nb' else text} {self.unit_display}"


# Codes from design.md; a few common siblings are added where real systems use them (marked).
# Normal bands: the NEWS2 zero-score range (RCP 2017) where NEWS2 has the parameter; otherwise noted.
VITALS: dict[str, Vital] = {v.key: v for v in (
    Vital("heart_rate", ("8867-4",), ("364075005",), units.PER_MIN, "/min", "Puls", "Heart rate", 51, 90, 0),
    Vital("bp_systolic", ("8480-6",), ("271649006",), units.MM_HG, "mmHg",
          "Systolisk blodtrykk", "Systolic blood pressure", 111, 219, 0),
    # Diastolic is not in NEWS2; 60–90 mmHg is the usual adult band.
    Vital("bp_diastolic", ("8462-4",), ("271650006",), units.MM_HG, "mmHg",
          "Diastolisk blodtrykk", "Diastolic blood pressure", 60, 90, 0),
    Vital("spo2", ("2708-6", "59408-5"), ("431314004",), units.PERCENT, "%",
          "Oksygenmetning", "Oxygen saturation", 96, None, 0),
    Vital("resp_rate", ("9279-1",), ("86290005",), units.PER_MIN, "/min",
          "Respirasjonsfrekvens", "Respiratory rate", 12, 20, 0),
    Vital("temperature", ("8310-5",), ("276885007",), units.CELSIUS, "°C",
          "Temperatur", "Body temperature", 36.1, 38.0, 1),
    # 3141-9 "Body weight Measured" is the older LOINC code many devices still send.
    Vital("weight", ("29463-7", "3141-9"), ("27113001",), units.KG, "kg", "Vekt", "Body weight", None, None, 1),
    # 2339-0 is glucose in blood as mass/volume (mg/dL); the band is a drawing aid, not a diagnosis.
    Vital("glucose", ("15074-8", "2339-0"), ("434912009",), units.MMOL_L, "mmol/L",
          "Blodsukker", "Blood glucose", 4.0, 7.0, 1, molar_mass=units.GLUCOSE_MOLAR_MASS),
)}

# Blood pressure panel; 55284-4 is the older LOINC panel still common in the field (marked sibling).
BP_PANEL = frozenset({(LOINC, "85354-9"), (LOINC, "55284-4"), (SNOMED, "75367002")})
_BY_CODE: dict[tuple[str, str], str] = {
    **{(LOINC, code): v.key for v in VITALS.values() for code in v.loinc},
    **{(SNOMED, code): v.key for v in VITALS.values() for code in v.snomed},
}


@dataclass(frozen=True, slots=True)
class Point:
    """One measured value in the vital's canonical unit, with who, where and with what it was measured."""

    time: datetime
    value: float
    unit: str
    observation_id: str | None
    performer: str | None = None
    organisation: str | None = None
    device: str | None = None
    status: str = "final"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: time as UTC ISO 8601 plus the Europe/Oslo text shown to people."""
        data = asdict(self)
        data["time"] = self.time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        data["time_oslo"] = oslo(self.time)
        return data


@dataclass(frozen=True, slots=True)
class Skip:
    """An Observation (or one panel component) that was left out, and why."""

    observation_id: str | None
    reason: str
    detail: str = ""


@dataclass
class VitalSeries:
    """Per-vital lists of points sorted by time (every key of VITALS, possibly empty) and what was skipped."""

    points: dict[str, list[Point]] = field(default_factory=lambda: {key: [] for key in VITALS})
    skips: list[Skip] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[Point]:
        return self.points[key]

    @property
    def skipped(self) -> dict[str, int]:
        """Reason → how many were skipped for it."""
        return dict(Counter(skip.reason for skip in self.skips))

    def present(self) -> list[str]:
        """Keys of the vitals that have at least one point, in registry order."""
        return [key for key in VITALS if self.points[key]]

    def to_dict(self) -> dict[str, Any]:
        vitals = {}
        for key in self.present():
            vital = VITALS[key]
            vitals[key] = {
                "label_nb": vital.label_nb, "label_en": vital.label_en, "unit": vital.unit,
                "unit_display": vital.unit_display, "normal": [vital.normal_low, vital.normal_high],
                "points": [p.to_dict() for p in self.points[key]],
            }
        return {"vitals": vitals, "skipped": self.skipped}


class _Unusable(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def normalise(observations: Iterable[Any], lookup: Mapping[str, str] | None = None) -> VitalSeries:
    """Turn FHIR R4 Observations into clean per-vital series.

    `lookup` maps a reference (`Practitioner/1`, or `system|value` of an identifier) to a display name, so the
    caller can name performers, organisations and devices the Observations only point at.
    """
    lookup = lookup or {}
    series = VitalSeries()
    candidates: dict[str, list[Point]] = {key: [] for key in VITALS}
    for obs in _current_versions(observations, series.skips):
        obs_id = obs.get("id") if isinstance(obs.get("id"), str) else None
        try:
            for key, point in _points(obs, obs_id, lookup, series.skips):
                candidates[key].append(point)
        except _Unusable as unusable:
            series.skips.append(Skip(obs_id, unusable.reason, unusable.detail))
    for key, found in candidates.items():
        series.points[key] = _without_duplicates(found, series.skips)
    return series


def _current_versions(observations: Iterable[Any], skips: list[Skip]) -> list[dict]:
    """Observations, keeping only the newest version when one id appears more than once (amended, corrected)."""
    kept: dict[Any, tuple[tuple, dict]] = {}
    for index, obs in enumerate(observations):
        if not isinstance(obs, dict) or obs.get("resourceType") != "Observation":
            skips.append(Skip(None, "not_observation"))
            continue
        key = obs["id"] if isinstance(obs.get("id"), str) and obs["id"] else ("no-id", index)
        meta = obs.get("meta") if isinstance(obs.get("meta"), dict) else {}
        updated = _instant(meta.get("lastUpdated"))
        version = str(meta.get("versionId", ""))
        number = int(version) if version.isascii() and version.isdecimal() else -1
        rank = (updated.timestamp() if updated else -math.inf, number, index)
        if key in kept and kept[key][0] > rank:
            skips.append(Skip(obs["id"], "superseded", _version_text(obs)))
            continue
        if key in kept:
            skips.append(Skip(obs["id"], "superseded", _version_text(kept[key][1])))
        kept[key] = (rank, obs)
    return [obs for _, obs in sorted(kept.values(), key=lambda pair: pair[0][2])]


def _version_text(obs: dict) -> str:
    meta = obs.get("meta") if isinstance(obs.get("meta"), dict) else {}
    return f"older version {meta.get('versionId', '')} {meta.get('lastUpdated', '')}".strip()


def _points(obs: dict, obs_id: str | None, lookup: Mapping[str, str], skips: list[Skip]) -> list[tuple[str, Point]]:
    status = obs.get("status")
    if not isinstance(status, str) or status not in SHOWN_STATUSES:
        raise _Unusable(f"status_{status}" if isinstance(status, str) else "missing_status")
    codings = _codings(obs.get("code"))
    panel = any(coding in BP_PANEL for coding in codings)
    keys = {_BY_CODE[coding] for coding in codings if coding in _BY_CODE}
    components = [(c, _component_key(c)) for c in _list(obs.get("component")) if isinstance(c, dict)]
    if not panel and not keys and not any(key for _, key in components):
        raise _Unusable("unrecognised_code", ", ".join(f"{s}|{c}" for s, c in codings))
    if len(keys) > 1 and not panel:
        raise _Unusable("conflicting_codes", ", ".join(sorted(keys)))
    time = _effective(obs)
    contained = {r["id"]: r for r in _list(obs.get("contained"))
                 if isinstance(r, dict) and isinstance(r.get("id"), str)}
    who, org = references.performers(obs.get("performer"), lookup, contained)
    context = dict(observation_id=obs_id, performer=who, organisation=org,
                   device=references.describe(obs.get("device"), lookup, contained), status=status)
    if keys and not panel:
        (key,) = keys
        return [(key, Point(time, _value(obs, VITALS[key]), VITALS[key].unit, **context))]
    # A panel (BP, or a vital-signs panel) carries its values in components; a pulse from a BP cuff often rides along.
    found, unusable_parts = [], 0
    for component, key in components:
        if key is None:
            continue
        try:
            found.append((key, Point(time, _value(component, VITALS[key]), VITALS[key].unit, **context)))
        except _Unusable as unusable:
            skips.append(Skip(obs_id, unusable.reason, f"{key}: {unusable.detail}".rstrip(": ")))
            unusable_parts += 1
    if not found and not unusable_parts:
        raise _Unusable("missing_value", "panel without a systolic, diastolic or other vital component")
    return found


def _component_key(component: dict) -> str | None:
    keys = {_BY_CODE[coding] for coding in _codings(component.get("code")) if coding in _BY_CODE}
    return keys.pop() if len(keys) == 1 else None


def _list(value: Any) -> list:
    """A FHIR repeating element, or nothing when the sender put something else there."""
    return value if isinstance(value, list) else []


def _codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [(c.get("system"), c.get("code")) for c in _list(concept.get("coding"))
            if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)]


def _value(holder: dict, vital: Vital) -> float:
    quantity = holder.get("valueQuantity")
    if not isinstance(quantity, dict) or "value" not in quantity:
        raise _Unusable("missing_value", "dataAbsentReason" if "dataAbsentReason" in holder else "")
    raw = quantity["value"]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise _Unusable("bad_value", repr(raw))
    try:
        return units.convert_quantity(quantity, vital.unit, molar_mass=vital.molar_mass)
    except units.MissingUnitError as error:
        raise _Unusable("missing_unit", str(error)) from None
    except units.UnitError as error:
        raise _Unusable("unknown_unit", str(error)) from None


# FHIR dateTime with a time part must carry a zone (FHIR R4 datatypes, dateTime); date-only has no usable instant.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
_PARTIAL = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not _DATE_TIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return None


def _effective(obs: dict) -> datetime:
    period = obs.get("effectivePeriod")
    text = obs.get("effectiveDateTime") or obs.get("effectiveInstant") or (
        period.get("start") if isinstance(period, dict) else None)
    if text is None:
        raise _Unusable("missing_time")
    instant = _instant(text)
    if instant is None:
        raise _Unusable("imprecise_time" if isinstance(text, str) and _PARTIAL.fullmatch(text) else "bad_time",
                        str(text))
    return instant


def _without_duplicates(points: list[Point], skips: list[Skip]) -> list[Point]:
    """One point per instant and value: keep the one that says most about who, where and what; else the first."""
    best: dict[tuple[datetime, float], Point] = {}
    for point in points:
        key = (point.time, point.value)
        if key in best:
            kept = max(best[key], point, key=_richness)
            dropped = point if kept is best[key] else best[key]
            skips.append(Skip(dropped.observation_id, "duplicate", f"same as {kept.observation_id}"))
            best[key] = kept
        else:
            best[key] = point
    return sorted(best.values(), key=lambda p: (p.time, p.observation_id or ""))


def _richness(point: Point) -> int:
    return sum(x is not None for x in (point.performer, point.organisation, point.device))


def oslo(dt: datetime, lang: str = "nb") -> str:
    """A time in Europe/Oslo as people read it: `20.11.2026 kl. 08:15`, in English `20.11.2026 at 08:15`."""
    if dt.tzinfo is None:
        raise ValueError("a naive datetime has no place in time; give it a zone")
    return dt.astimezone(OSLO).strftime("%d.%m.%Y kl. %H:%M" if lang == "nb" else "%d.%m.%Y at %H:%M")


@dataclass(frozen=True)
class LastMeasured:
    """The newest point at or before `now`, how long ago that was, and that said in bokmål and English."""

    point: Point
    age: timedelta
    text_nb: str
    text_en: str


def last_measured(points: Sequence[Point], now: datetime) -> LastMeasured | None:
    """The latest measurement not after `now` (a device clock set in the future is not "latest"); None if none."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    past = [p for p in points if p.time <= now]
    if not past:
        return None
    point = max(past, key=lambda p: p.time)
    age = now - point.time
    return LastMeasured(point, age, ago(age, "nb"), ago(age, "en"))


_AGO = {
    "nb": ("akkurat nå", "for {} {} siden", {"minute": ("minutt", "minutter"), "hour": ("time", "timer"),
                                             "day": ("dag", "dager")}),
    "en": ("just now", "{} {} ago", {"minute": ("minute", "minutes"), "hour": ("hour", "hours"),
                                     "day": ("day", "days")}),
}


def ago(age: timedelta, lang: str = "nb") -> str:
    """How long ago, in words: minutes under an hour, hours under two days, then days."""
    just_now, pattern, words = _AGO[lang]
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return just_now
    count, unit = ((minutes, "minute") if minutes < 60 else (minutes // 60, "hour") if minutes < 48 * 60
                   else (minutes // (24 * 60), "day"))
    return pattern.format(count, words[unit][count != 1])
