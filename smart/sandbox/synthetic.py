"""Deterministic synthetic home-monitoring data (FHIR R4 dicts) for the sandbox EHR.

Twelve patients in digital home follow-up (heart failure, COPD, after surgery, hypertension) with 90 days
of measurements, and one dense patient with a year of wearable data for performance work. Values follow a
daily rhythm with noise and a few deteriorations (HEART_FAILURE_DETERIORATION_ID, COPD_EXACERBATION_ID,
POSTOPERATIVE_FEVER_ID). Each patient's numbers come from `random.Random` seeded with the seed and the
patient id, and every measurement is taken before DATA_END, so a seed always gives the same resources.
The feeds are messy on purpose, like the DHO platforms they imitate (design.md, "Vital signs").
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator, Protocol

from smart.sandbox import synthetic_cast as cast
from smart.sandbox.synthetic_cast import (ALL_PATIENT_IDS, DATA_END, DENSE_DAYS, DENSE_PATIENT_ID, FOLLOW_UP_DAYS,
                                          NEWCOMER_ID, ORGANIZATION_IDS, OSLO, PATIENT_IDS, PRACTITIONER_IDS, SNOMED)

__all__ = ["ALL_PATIENT_IDS", "COPD_EXACERBATION_ID", "DATA_END", "DENSE_DAYS", "DENSE_PATIENT_ID", "FOLLOW_UP_DAYS",
           "NEWCOMER_ID",
           "HEART_FAILURE_DETERIORATION_ID", "ORGANIZATION_IDS", "PATIENT_IDS", "POSTOPERATIVE_FEVER_ID",
           "PRACTITIONER_IDS", "generate", "seed"]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# kind: LOINC code and display, SNOMED CT code and display, Norwegian text (design.md, vital signs).
KINDS: dict[str, tuple[str, str, str, str, str]] = {
    "hr": ("8867-4", "Heart rate", "364075005", "Heart rate", "Puls"),
    "bp": ("85354-9", "Blood pressure panel with all children optional", "75367002", "Blood pressure", "Blodtrykk"),
    "sys": ("8480-6", "Systolic blood pressure", "271649006", "Systolic blood pressure", "Systolisk blodtrykk"),
    "dia": ("8462-4", "Diastolic blood pressure", "271650006", "Diastolic blood pressure", "Diastolisk blodtrykk"),
    "rr": ("9279-1", "Respiratory rate", "86290005", "Respiratory rate", "Respirasjonsfrekvens"),
    "spo2": ("2708-6", "Oxygen saturation in Arterial blood", "431314004", "Peripheral oxygen saturation",
             "Oksygenmetning"),
    "temp": ("8310-5", "Body temperature", "276885007", "Core body temperature", "Kroppstemperatur"),
    "weight": ("29463-7", "Body weight", "27113001", "Body weight", "Kroppsvekt"),
    "glucose": ("15074-8", "Glucose [Moles/volume] in Blood", "434912009", "Blood glucose concentration",
                "Blodsukker"),
}
UNITS = {"hr": "/min", "sys": "mm[Hg]", "dia": "mm[Hg]", "rr": "/min", "spo2": "%", "temp": "Cel", "weight": "kg",
         "glucose": "mmol/L"}
DECIMALS = {"temp": 1, "weight": 1, "glucose": 1}
PRETTY_UNITS = {"mm[Hg]": "mmHg", "Cel": "°C", "[degF]": "°F", "[lb_av]": "lb"}
PULSE_OXIMETRY = {"system": LOINC, "code": "59408-5",
                  "display": "Oxygen saturation in Arterial blood by Pulse oximetry"}

HEART_FAILURE_DETERIORATION_ID = "pas-01"
COPD_EXACERBATION_ID = "pas-05"
POSTOPERATIVE_FEVER_ID = "pas-08"
# Deteriorations (and one slow improvement): patient → first day, peak day, last day, change at the peak.
EPISODES: dict[str, tuple[int, int, int, dict[str, float]]] = {
    HEART_FAILURE_DETERIORATION_ID: (82, 89, 90, {"weight": 3.4, "hr": 22, "spo2": -3, "rr": 5, "sys": -8}),
    "pas-02": (38, 44, 52, {"weight": 1.8, "hr": 10, "spo2": -1.5}),
    COPD_EXACERBATION_ID: (56, 62, 69, {"spo2": -6.5, "rr": 7.5, "hr": 22, "temp": 1.4}),
    "pas-07": (20, 23, 28, {"spo2": -2.5, "rr": 3, "hr": 8}),
    POSTOPERATIVE_FEVER_ID: (8, 11, 15, {"temp": 2.0, "hr": 18}),
    "pas-11": (0, 89, 90, {"sys": -24, "dia": -12}),
}
EVENING = {"sys": -7, "dia": -4, "hr": 5, "temp": 0.3, "glucose": 1.6, "spo2": -0.3}
NOISE = {"hr": 4, "sys": 7, "dia": 5, "spo2": 0.8, "rr": 1.2, "temp": 0.15, "weight": 0.2, "glucose": 0.6}
SURGERY = frozenset({"hip", "cabg", "bowel"})


class _Store(Protocol):
    def put_many(self, resources: Any) -> int: ...


def seed(store: _Store, *, seed: int, dense_observations: int) -> int:
    """Write the synthetic data set for `seed` into the store; returns what `put_many` returns."""
    return store.put_many(generate(seed, dense_observations))


def generate(seed: int, dense_observations: int) -> Iterator[dict[str, Any]]:
    """Yield every resource: the cast first, then at least `dense_observations` for the dense patient last."""
    yield from cast.resources()
    for pat in cast.PATIENTS:
        yield from _follow_up(pat, seed)
    yield from _dense(seed, dense_observations)


class _Series:
    """One patient's Observations: numbering, the platform's coding habits, performers and devices."""

    def __init__(self, pat: cast.Pat, rng: random.Random) -> None:
        self.pat, self.rng, self.count = pat, rng, 0
        org, nurse = cast.ORGS_BY_ID[pat.org], cast.PRACS_BY_ID[pat.nurse]
        self.platform = org.platform
        self.subject = {"reference": f"Patient/{pat.id}", "display": f"{pat.given} {pat.family}"}
        self.org = {"reference": f"Organization/{org.id}", "display": org.name}
        self.nurse = {"reference": f"Practitioner/{nurse.id}", "display": f"{nurse.given} {nurse.family}"}
        uses = ["bp", "oximeter", "scale", "thermometer"] + ["glucose"] * pat.diabetic + ["watch"] * (pat is cast.DENSE)
        self.devices = {use: cast.device_ref(pat, use) for use in uses}

    def code(self, kind: str) -> dict[str, Any]:
        """The platform's habit, mixed up now and then: LOINC, SNOMED CT or both."""
        loinc, loinc_display, sct, sct_display, text = KINDS[kind]
        style = self.platform.coding if self.rng.random() >= 0.1 else "both"
        coding = []
        if style != "snomed":
            coding.append({"system": LOINC, "code": loinc, "display": loinc_display})
            if kind == "spo2" and self.platform.pulse_oximetry:
                coding.append(dict(PULSE_OXIMETRY))
        if style != "loinc":
            coding.append({"system": SNOMED, "code": sct, "display": sct_display})
        return {"coding": coding, "text": text}

    def quantity(self, kind: str, value: float, unit: str | None) -> dict[str, Any]:
        """A UCUM quantity; weight in [lb_av] or g and temperature in [degF] are converted from kg and °C."""
        unit = unit or UNITS[kind]
        if unit == "[lb_av]":
            value /= 0.45359237
        elif unit == "g":
            value *= 1000
        elif unit == "[degF]":
            value = value * 9 / 5 + 32
        if kind == "spo2":
            value = min(value, 100)
        places = DECIMALS.get(kind, 0) if unit != "g" else 0
        shown = PRETTY_UNITS.get(unit, unit) if self.platform.pretty_units else unit
        return {"value": round(value, places) if places else round(value), "unit": shown, "system": UCUM,
                "code": unit}

    def _base(self, kind: str, when: datetime, status: str | None, device: str | None, nurse: bool) -> dict[str, Any]:
        self.count += 1
        if status is None:
            status = "preliminary" if self.rng.random() < 0.01 else "final"
        if nurse:
            performer = [dict(self.nurse), dict(self.org)]
        else:
            performer = [dict(self.subject)] + [dict(self.org)] * self.platform.org_performer
        obs = {"resourceType": "Observation", "id": f"obs-{self.pat.id}-{self.count:06d}", "status": status,
               "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
               "code": self.code(kind), "subject": dict(self.subject),
               "effectiveDateTime": when.isoformat(timespec="seconds"), "performer": performer}
        if device:
            ref = self.devices[device]
            obs["device"] = {**ref, "identifier": dict(ref["identifier"])}
        return obs

    def measure(self, kind: str, when: datetime, value: float, *, unit: str | None = None, status: str | None = None,
                device: str | None = None, nurse: bool = False, note: str | None = None) -> dict[str, Any]:
        obs = self._base(kind, when, status, device, nurse)
        obs["valueQuantity"] = self.quantity(kind, value, unit)
        if note:
            obs["note"] = [{"text": note}]
        return obs

    def blood_pressure(self, when: datetime, v: dict[str, float], *, status: str | None = None,
                       device: str | None = "bp", nurse: bool = False, note: str | None = None) -> list[dict[str, Any]]:
        """A panel with systolic and diastolic components, or two Observations, as the platform does it."""
        if self.platform.split_bp != (self.rng.random() < 0.05):
            return [self.measure(part, when, v[part], status=status, device=device, nurse=nurse, note=note)
                    for part in ("sys", "dia")]
        obs = self._base("bp", when, status, device, nurse)
        obs["component"] = [{"code": self.code(part), "valueQuantity": self.quantity(part, v[part], None)}
                            for part in ("sys", "dia")]
        if note:
            obs["note"] = [{"text": note}]
        return [obs]


def _at(day: date, minutes: float, rng: random.Random) -> datetime:
    """Oslo wall-clock time `minutes` after midnight of `day` (aware, so the offset follows DST)."""
    return datetime(day.year, day.month, day.day, tzinfo=OSLO) + timedelta(minutes=minutes, seconds=rng.randrange(60))


def _baseline(pat: cast.Pat, rng: random.Random) -> dict[str, float]:
    base = {"hr": rng.uniform(64, 78), "sys": rng.uniform(122, 138), "dia": rng.uniform(72, 82),
            "spo2": rng.uniform(95.5, 97.5), "rr": rng.uniform(13, 16), "temp": rng.uniform(36.5, 36.9),
            "weight": rng.uniform(62, 96), "glucose": rng.uniform(5.8, 7.5) if pat.diabetic else 5.2}
    if pat.reason == "copd":
        base.update(spo2=rng.uniform(92.5, 94), rr=rng.uniform(17, 19.5), hr=rng.uniform(78, 88))
    elif pat.reason == "hf":
        base.update(hr=rng.uniform(66, 76), sys=rng.uniform(108, 124), spo2=rng.uniform(94, 96.5))
    elif pat.reason == "htn":
        base.update(sys=rng.uniform(150, 162), dia=rng.uniform(90, 98))
    return base


def _expected(pat: cast.Pat, base: dict[str, float], d: int, evening: bool) -> dict[str, float]:
    """Noise-free values on follow-up day `d`: baseline, time of day, recovery after surgery, episodes."""
    v = dict(base)
    if evening:
        for key, delta in EVENING.items():
            v[key] += delta
    if pat.reason in SURGERY:
        v["temp"] += 0.9 * math.exp(-d / 2.5)
        v["hr"] += 10 * math.exp(-d / 6)
    if pat.id in EPISODES:
        first, peak, last, change = EPISODES[pat.id]
        if first <= d < last:
            level = (d - first) / (peak - first) if d <= peak else (last - d) / (last - peak)
            for key, delta in change.items():
                v[key] += delta * level
    return v


def _sample(rng: random.Random, v: dict[str, float]) -> dict[str, float]:
    return {key: value + rng.gauss(0, NOISE[key]) for key, value in v.items()}


def _follow_up(pat: cast.Pat, seed: int) -> Iterator[dict[str, Any]]:
    """Ninety days of home measurements in the patient's follow-up scheme, with weekly nurse visits."""
    rng = random.Random(f"{seed}:{pat.id}")
    s = _Series(pat, rng)
    first_day = DATA_END.date() - timedelta(days=FOLLOW_UP_DAYS)
    base, drift, weighings = _baseline(pat, rng), 0.0, 0
    visit_day, error_day, amend_day = rng.randrange(7), rng.randrange(3, 80), rng.randrange(3, 80)
    surgery, reason = pat.reason in SURGERY, pat.reason
    episode_first, _, episode_last, _ = EPISODES.get(pat.id, (0, 0, 0, {}))
    for d in range(FOLLOW_UP_DAYS):
        day = first_day + timedelta(days=d)
        drift = 0.9 * drift + rng.gauss(0, 0.15)  # fluid balance: a slow, mean-reverting walk
        am = _sample(rng, _expected(pat, base, d, evening=False))
        am["weight"] += drift
        pm = _sample(rng, _expected(pat, base, d, evening=True))
        ill = episode_first <= d < episode_last
        t = _at(day, rng.uniform(405, 540), rng)
        if d == error_day:  # a reading taken on the wrong person, flagged by the nurse
            wrong = {"sys": am["sys"] + 38, "dia": am["dia"] + 22}
            yield from s.blood_pressure(t - timedelta(minutes=4), wrong, status="entered-in-error",
                                        note="Feil person målt / measured on the wrong person")
        if (reason != "copd" and (not surgery or d < 30 or d % 2 == 0)) or d in (error_day, amend_day):
            amended = d == amend_day
            yield from s.blood_pressure(t, am, status="amended" if amended else None,
                                        note="Korrigert tidspunkt / time corrected" if amended else None)
            yield s.measure("hr", t, am["hr"], device="bp")
        if reason == "hf" or d % 7 == 3:
            unit = "[lb_av]" if pat.id == "pas-03" and d < 45 else "g" if pat.id == "pas-04" and weighings < 5 else None
            weighings += 1
            yield s.measure("weight", t + timedelta(minutes=3), am["weight"], unit=unit, device="scale")
        if reason == "copd" or (reason == "hf" and (d % 2 == 0 or ill)) or (surgery and (d < 14 or d % 3 == 0)):
            yield s.measure("spo2", t + timedelta(minutes=5), am["spo2"], device="oximeter")
            if reason == "copd":
                yield s.measure("hr", t + timedelta(minutes=5), am["hr"], device="oximeter")
                yield s.measure("rr", t + timedelta(minutes=6), am["rr"])
        temp_unit = "[degF]" if pat.id == "pas-09" else None
        if (surgery and (d < 21 or d % 2 == 0)) or (reason == "copd" and (d % 3 == 0 or ill)) or d % 7 == 0:
            yield s.measure("temp", t + timedelta(minutes=8), am["temp"], unit=temp_unit, device="thermometer")
        if pat.diabetic:
            yield s.measure("glucose", t - timedelta(minutes=10), am["glucose"], device="glucose")
        evening = _at(day, rng.uniform(1110, 1290), rng)
        if reason == "htn":
            yield from s.blood_pressure(evening, pm)
            yield s.measure("hr", evening, pm["hr"], device="bp")
        if surgery and d < 21:
            yield s.measure("temp", evening, pm["temp"], unit=temp_unit, device="thermometer")
        if reason == "copd" and ill:
            yield s.measure("spo2", evening, pm["spo2"], device="oximeter")
        if pat.diabetic and d % 2:
            yield s.measure("glucose", evening, pm["glucose"], device="glucose")
        if d % 7 == visit_day or (ill and reason in ("copd", "hf") and d % 2 == 0):
            noon = _sample(rng, _expected(pat, base, d, evening=False))
            yield from _nurse_visit(s, _at(day, rng.uniform(600, 840), rng), noon, temp_unit)


def _nurse_visit(s: _Series, when: datetime, v: dict[str, float], temp_unit: str | None) -> Iterator[dict[str, Any]]:
    """A home-care visit: the nurse takes a full set (the NEWS2 parameters but consciousness)."""
    yield from s.blood_pressure(when, v, device=None, nurse=True)
    for kind in ("hr", "rr", "spo2", "temp"):
        yield s.measure(kind, when, v[kind], nurse=True, unit=temp_unit if kind == "temp" else None)


def _dense(seed: int, wanted: int) -> Iterator[dict[str, Any]]:
    """A year for the dense patient: daily BP and weight, and a pulse watch filling up to `wanted` Observations.

    The watch reports pulse and SpO2 together at an even step chosen so the total reaches `wanted`;
    pulse follows a day-night rhythm, with bouts of atrial fibrillation.
    """
    pat = cast.DENSE
    rng = random.Random(f"{seed}:{pat.id}")
    s = _Series(pat, rng)
    start = DATA_END - timedelta(days=DENSE_DAYS)
    start_utc, seconds = start.astimezone(timezone.utc), DENSE_DAYS * 86400
    points = max(0, -(-(wanted - 3 * DENSE_DAYS) // 2))
    step = seconds / points if points else float(seconds)
    af_hours: set[int] = set()  # hours since start with atrial fibrillation
    for _ in range(24):
        first = rng.randrange(DENSE_DAYS * 24)
        af_hours.update(range(first, first + rng.randint(2, 14)))
    base, i = {"sys": rng.uniform(128, 140), "dia": rng.uniform(78, 86), "weight": rng.uniform(78, 90)}, 0
    for d in range(DENSE_DAYS):
        day = start.date() + timedelta(days=d)
        t = _at(day, rng.uniform(400, 500), rng)
        v = {k: value + rng.gauss(0, NOISE[k]) for k, value in base.items()}
        yield from s.blood_pressure(t, v)
        yield s.measure("hr", t, rng.gauss(72, 6), device="bp")
        yield s.measure("weight", t + timedelta(minutes=2), v["weight"], device="scale")
        day_end = (datetime(day.year, day.month, day.day, tzinfo=OSLO) + timedelta(days=1)).astimezone(timezone.utc)
        limit = (day_end - start_utc).total_seconds()
        while i < points and (i + 0.5) * step < limit:
            offset = (i + 0.5 + rng.uniform(-0.3, 0.3)) * step
            when = (start_utc + timedelta(seconds=offset)).astimezone(OSLO)
            rhythm = math.cos(2 * math.pi * (when.hour + when.minute / 60 - 15) / 24)
            af = int(offset // 3600) in af_hours
            hr = rng.uniform(105, 150) if af else 66 + 9 * rhythm + rng.gauss(0, 4)
            yield s.measure("hr", when, hr, device="watch")
            yield s.measure("spo2", when, 96.3 + 0.8 * rhythm + rng.gauss(0, 0.9), device="watch")
            i += 1
