"""The fixed cast of the synthetic data set: organisations, health personnel, patients, their devices.

Three organisations run digital home follow-up; every identifier is synthetic but passes the national
checks (fødselsnummer with month + 80, mod-11 organisation numbers). `resources()` gives the cast as
FHIR R4 dicts; the measurements are made in `synthetic`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterator, NamedTuple
from zoneinfo import ZoneInfo

from app import identifiers

OSLO = ZoneInfo("Europe/Oslo")
#: Every synthetic measurement is taken before this instant (midnight starting 20 Nov 2026, Oslo time).
DATA_END = datetime(2026, 11, 20, tzinfo=OSLO)
FOLLOW_UP_DAYS = 90
DENSE_DAYS = 365

SNOMED = "http://snomed.info/sct"
HEALTH_PERSONNEL_CATEGORY = "urn:oid:2.16.578.1.12.4.1.1.9060"  # kodeverk 9060 Kategori helsepersonell
TEST_DATA_TAG = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST",
                 "display": "test health data"}


class Platform(NamedTuple):
    """How one organisation's DHO platform writes Observations."""
    coding: str  # "both", "loinc" or "snomed"
    split_bp: bool  # systolic and diastolic as two Observations instead of a panel
    pulse_oximetry: bool  # adds LOINC 59408-5 to SpO2
    org_performer: bool  # names the responsible organisation as a performer of home measurements
    pretty_units: bool  # human unit strings ("mmHg") beside the UCUM code


class Org(NamedTuple):
    id: str
    name: str
    orgnr: str
    kind: str
    city: str
    postal_code: str
    platform: Platform


class Prac(NamedTuple):
    id: str
    given: str
    family: str
    gender: str
    hpr: str
    category: str  # kodeverk 9060: LE lege, SP sykepleier
    org: str
    specialty: str


class Pat(NamedTuple):
    id: str
    given: str
    family: str
    birth: date
    individual: int  # odd = male (fødselsnummer rule)
    reason: str
    diabetic: bool
    org: str
    gp: str
    nurse: str
    bp_model: str


ORGANIZATIONS = (
    Org("org-asker", "Asker kommune", "310920002", "Kommune", "Asker", "1384",
        Platform("both", False, True, True, True)),
    Org("org-drammen", "Drammen kommune", "310920010", "Kommune", "Drammen", "3017",
        Platform("snomed", True, False, False, True)),
    Org("org-vestre-viken", "Vestre Viken HF", "310920029", "Helseforetak", "Drammen", "3004",
        Platform("loinc", False, True, True, False)),
)
CATEGORIES = {"LE": "Lege", "SP": "Sykepleier"}
PRACTITIONERS = (
    Prac("prac-01", "Ingrid", "Solberg", "female", "7150421", "LE", "org-asker", "Fastlege"),
    Prac("prac-02", "Kari", "Moe", "female", "10281573", "SP", "org-asker", "Hjemmesykepleien"),
    Prac("prac-03", "Jonas", "Bakke", "male", "565002113", "SP", "org-asker", "Hjemmesykepleien"),
    Prac("prac-04", "Erik", "Strand", "male", "9071326", "LE", "org-drammen", "Fastlege"),
    Prac("prac-05", "Hanne", "Lie", "female", "11546082", "SP", "org-drammen", "Hjemmesykepleien"),
    Prac("prac-06", "Amir", "Rahimi", "male", "431877250", "LE", "org-drammen", "Fastlege"),
    Prac("prac-07", "Nina", "Dahl", "female", "8830514", "LE", "org-vestre-viken", "Kardiologi"),
    Prac("prac-08", "Lars", "Holm", "male", "26419937", "LE", "org-vestre-viken", "Lungesykdommer"),
    Prac("prac-09", "Eva", "Berge", "female", "712384065", "SP", "org-vestre-viken", "Digital hjemmeoppfølging"),
)
# reason: SNOMED CT code and display, Norwegian text for the EHR page.
REASONS = {
    "hf": ("84114007", "Heart failure", "Hjertesvikt"),
    "copd": ("13645005", "Chronic obstructive lung disease", "Kols"),
    "hip": ("19585003", "Postoperative state", "Etter innsetting av hofteprotese"),
    "cabg": ("399261000", "History of coronary artery bypass grafting", "Etter koronar bypassoperasjon"),
    "bowel": ("19585003", "Postoperative state", "Etter tarmreseksjon"),
    "htn": ("38341003", "Hypertensive disorder", "Høyt blodtrykk"),
    "af": ("49436004", "Atrial fibrillation",
           "Atrieflimmer, pulsklokke døgnet rundt (tett måleserie for ytelsestest / dense data for performance)"),
    "dm2": ("44054006", "Diabetes mellitus type 2", "Diabetes type 2"),
}
PATIENTS = (
    Pat("pas-01", "Arne", "Johansen", date(1948, 3, 5), 123, "hf", False, "org-asker", "prac-01", "prac-02", "omron"),
    Pat("pas-02", "Berit", "Olsen", date(1941, 11, 12), 246, "hf", True, "org-drammen", "prac-04", "prac-05", "and"),
    Pat("pas-03", "Kjell", "Larsen", date(1952, 6, 21), 351, "hf", False, "org-asker", "prac-01", "prac-03", "omron"),
    Pat("pas-04", "Solveig", "Andersen", date(1939, 1, 30), 418, "hf", False, "org-drammen", "prac-06", "prac-05",
        "and"),
    Pat("pas-05", "Terje", "Pedersen", date(1950, 9, 14), 275, "copd", False, "org-drammen", "prac-04", "prac-05",
        "and"),
    Pat("pas-06", "Randi", "Nilsen", date(1946, 4, 2), 132, "copd", True, "org-asker", "prac-01", "prac-02", "omron"),
    Pat("pas-07", "Per", "Kristiansen", date(1957, 12, 8), 489, "copd", False, "org-vestre-viken", "prac-06",
        "prac-09", "omron"),
    Pat("pas-08", "Liv", "Jensen", date(1963, 7, 19), 204, "hip", False, "org-vestre-viken", "prac-04", "prac-09",
        "omron"),
    Pat("pas-09", "Geir", "Karlsen", date(1955, 2, 27), 317, "cabg", True, "org-vestre-viken", "prac-01", "prac-09",
        "and"),
    Pat("pas-10", "Anne", "Eriksen", date(1968, 10, 3), 442, "bowel", False, "org-drammen", "prac-06", "prac-05",
        "and"),
    Pat("pas-11", "Tor", "Berg", date(1960, 5, 16), 159, "htn", False, "org-asker", "prac-01", "prac-03", "omron"),
    Pat("pas-12", "Marit", "Haugen", date(1971, 8, 25), 66, "htn", True, "org-drammen", "prac-04", "prac-05", "and"),
)
DENSE = Pat("pas-13", "Svein", "Hagen", date(1958, 1, 11), 397, "af", False, "org-vestre-viken", "prac-06", "prac-09",
            "omron")
# Just enrolled in follow-up: no measurements have arrived yet (the app's empty state).
NEWCOMER = Pat("pas-14", "Ingrid", "Moen", date(1953, 4, 9), 188, "htn", False, "org-asker", "prac-01", "prac-02",
               "omron")
# model key: display name, manufacturer, what the patient uses it for.
DEVICE_MODELS = {
    "omron": ("Omron M7 Intelli IT", "Omron Healthcare", "bp"),
    "and": ("A&D UA-651BLE", "A&D Company", "bp"),
    "nonin": ("Nonin 3230", "Nonin Medical", "oximeter"),
    "withings-scale": ("Withings Body+", "Withings", "scale"),
    "braun": ("Braun ThermoScan 7", "Braun", "thermometer"),
    "contour": ("Contour Next One", "Ascensia Diabetes Care", "glucose"),
    "watch": ("Withings ScanWatch 2", "Withings", "watch"),
}

PATIENT_IDS: tuple[str, ...] = tuple(p.id for p in PATIENTS)
DENSE_PATIENT_ID = DENSE.id
NEWCOMER_ID = NEWCOMER.id
ALL_PATIENT_IDS: tuple[str, ...] = PATIENT_IDS + (DENSE_PATIENT_ID,)
PRACTITIONER_IDS: tuple[str, ...] = tuple(p.id for p in PRACTITIONERS)
ORGANIZATION_IDS: tuple[str, ...] = tuple(o.id for o in ORGANIZATIONS)

ORGS_BY_ID = {o.id: o for o in ORGANIZATIONS}
PRACS_BY_ID = {p.id: p for p in PRACTITIONERS}


def resources() -> Iterator[dict[str, Any]]:
    """The cast as FHIR resources, referenced resources before the ones that point at them."""
    for org in ORGANIZATIONS:
        yield _organization(org)
    for prac in PRACTITIONERS:
        yield _practitioner(prac)
        yield _practitioner_role(prac)
    for pat in PATIENTS + (DENSE,):
        yield _patient(pat)
        yield _condition(pat, pat.reason, f"cond-{pat.id}")
        if pat.diabetic:
            yield _condition(pat, "dm2", f"cond-{pat.id}-dm2")
        yield from (_device(pat, key) for key in _device_keys(pat))
    yield _patient(NEWCOMER)
    yield _condition(NEWCOMER, NEWCOMER.reason, f"cond-{NEWCOMER.id}")


def device_ref(pat: Pat, use: str) -> dict[str, Any]:
    """Reference to the patient's device for `use` (bp, oximeter, scale, thermometer, glucose, watch)."""
    key = pat.bp_model if use == "bp" else next(k for k, m in DEVICE_MODELS.items() if m[2] == use)
    return {"reference": f"Device/dev-{pat.id}-{use}", "display": DEVICE_MODELS[key][0],
            "identifier": {"type": {"text": "Serienummer"}, "value": _serial(pat, key)}}


def _ref(kind: str, id_: str, display: str) -> dict[str, str]:
    return {"reference": f"{kind}/{id_}", "display": display}


def _name(given: str, family: str) -> list[dict[str, Any]]:
    return [{"use": "official", "family": family, "given": [given], "text": f"{given} {family}"}]


def _organization(org: Org) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": org.id, "meta": {"security": [dict(TEST_DATA_TAG)]},
            "identifier": [{"system": identifiers.ORGNR, "value": org.orgnr}], "active": True,
            "type": [{"text": org.kind}], "name": org.name,
            "address": [{"city": org.city, "postalCode": org.postal_code, "country": "NO"}]}


def _category_code(category: str) -> dict[str, Any]:
    display = CATEGORIES[category]
    return {"coding": [{"system": HEALTH_PERSONNEL_CATEGORY, "code": category, "display": display}], "text": display}


def _practitioner(prac: Prac) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "id": prac.id, "meta": {"security": [dict(TEST_DATA_TAG)]},
            "identifier": [{"system": identifiers.HPR, "value": prac.hpr}], "active": True,
            "name": _name(prac.given, prac.family), "gender": prac.gender,
            "qualification": [{"code": _category_code(prac.category)}]}


def _practitioner_role(prac: Prac) -> dict[str, Any]:
    org = ORGS_BY_ID[prac.org]
    return {"resourceType": "PractitionerRole", "id": "role-" + prac.id.removeprefix("prac-"), "active": True,
            "practitioner": _ref("Practitioner", prac.id, f"{prac.given} {prac.family}"),
            "organization": _ref("Organization", org.id, org.name),
            "code": [_category_code(prac.category)], "specialty": [{"text": prac.specialty}]}


def _patient(pat: Pat) -> dict[str, Any]:
    fnr = identifiers.synthetic_fnr(pat.birth, pat.individual)
    org, gp = ORGS_BY_ID[pat.org], PRACS_BY_ID[pat.gp]
    return {"resourceType": "Patient", "id": pat.id, "meta": {"security": [dict(TEST_DATA_TAG)]},
            "identifier": [{"use": "official", "system": identifiers.FNR, "value": fnr}], "active": True,
            "name": _name(pat.given, pat.family), "gender": "male" if identifiers.fnr_is_male(fnr) else "female",
            "birthDate": pat.birth.isoformat(),
            "address": [{"use": "home", "city": org.city, "postalCode": org.postal_code, "country": "NO"}],
            "generalPractitioner": [_ref("Practitioner", gp.id, f"{gp.given} {gp.family}")],
            "managingOrganization": _ref("Organization", org.id, org.name)}


def _condition(pat: Pat, reason: str, id_: str) -> dict[str, Any]:
    code, display, text = REASONS[reason]
    days = DENSE_DAYS if pat is DENSE else FOLLOW_UP_DAYS
    start = (DATA_END - timedelta(days=days)).date().isoformat()
    return {"resourceType": "Condition", "id": id_,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                               "code": "confirmed"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                      "code": "problem-list-item", "display": "Problem List Item"}]}],
            "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": text},
            "subject": _ref("Patient", pat.id, f"{pat.given} {pat.family}"), "recordedDate": start}


def _device_keys(pat: Pat) -> list[str]:
    keys = [pat.bp_model, "nonin", "withings-scale", "braun"] + (["contour"] if pat.diabetic else [])
    return keys + (["watch"] if pat is DENSE else [])


def _serial(pat: Pat, key: str) -> str:
    return f"{key[:3].upper()}{int(pat.id[-2:]) * 1000 + list(DEVICE_MODELS).index(key) * 37 + 20260:07d}"


def _device(pat: Pat, key: str) -> dict[str, Any]:
    name, maker, _ = DEVICE_MODELS[key]
    serial = _serial(pat, key)
    return {"resourceType": "Device", "id": f"dev-{pat.id}-{DEVICE_MODELS[key][2]}", "status": "active",
            "identifier": [{"type": {"text": "Serienummer"}, "value": serial}], "serialNumber": serial,
            "manufacturer": maker, "deviceName": [{"name": name, "type": "user-friendly-name"}],
            "patient": _ref("Patient", pat.id, f"{pat.given} {pat.family}"),
            "owner": _ref("Organization", pat.org, ORGS_BY_ID[pat.org].name)}
