"""FHIR R4 search parameters of the sandbox: which ones each resource type has and how a resource
is indexed for them (http://hl7.org/fhir/R4/searchparameter-registry.html, search.html).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from datetime import MAXYEAR, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

# Dates without a time zone are read in the server's zone (R4 search.html#date); this is a Norwegian EHR.
SERVER_TZ = ZoneInfo("Europe/Oslo")
ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # R4 datatypes.html#id
_REFERENCE = re.compile(r"(?:.*/)?([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?/?")
_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class Param:
    """A search parameter: kind (id, token, reference, string, date, patient) and how to index it."""

    kind: str
    extract: Callable[[dict], Iterable[Any]] | None = None
    targets: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        """The FHIR search parameter type, for the CapabilityStatement."""
        return {"id": "token", "patient": "reference"}.get(self.kind, self.kind)


def codings(value: Any) -> Iterator[tuple[str, str]]:
    """(system, code) of each coding in one or a list of CodeableConcepts."""
    for concept in value if isinstance(value, list) else [value] if value else []:
        for coding in concept.get("coding") or []:
            if coding.get("code"):
                yield coding.get("system") or "", coding["code"]


def reference_key(reference: str) -> str | None:
    """'Type/id' of a relative or absolute reference (version suffix dropped), or None."""
    match = _REFERENCE.fullmatch(reference)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def normalize_text(text: str) -> str:
    """Case- and accent-insensitive form for string search (R4 search.html#string)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def date_range(text: str) -> tuple[float, float]:
    """The instant range [lo, hi) a FHIR date/dateTime/instant covers at its precision, as epoch seconds.

    Raises ValueError for anything that is not a valid FHIR date (R4 datatypes.html#dateTime).
    """
    if " " in text:
        text = re.sub(r" (\d{2}:\d{2})$", r"+\1", text)  # an unencoded '+' arrives as a space
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = SERVER_TZ if zone is None else _zone(zone)
    y = int(year)
    if month is None:
        return datetime(y, 1, 1, tzinfo=tz).timestamp(), _start_of(y + 1, 1, 1, tz)
    m = int(month)
    if day is None:
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        return datetime(y, m, 1, tzinfo=tz).timestamp(), _start_of(ny, nm, 1, tz)
    d = date(y, m, int(day))
    if hour is None:
        return datetime(d.year, d.month, d.day, tzinfo=tz).timestamp(), _day_after(d, tz)
    start = datetime(y, m, d.day, int(hour), int(minute), int(second or 0), tzinfo=tz).timestamp()
    width = 60.0 if second is None else 1.0 if fraction is None else 10.0 ** -(len(fraction) - 1)
    start += float(fraction or 0)
    return start, start + width


def _start_of(year: int, month: int, day: int, tz: tzinfo) -> float:
    """The first instant of a period that follows a valid one: past 9999-12-31 there is none, so no end."""
    if year > MAXYEAR:
        return float("inf")
    return datetime(year, month, day, tzinfo=tz).timestamp()


def _day_after(day: date, tz: tzinfo) -> float:
    if day == date.max:
        return float("inf")
    following = day + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=tz).timestamp()


@lru_cache(maxsize=64)
def _zone(zone: str) -> timezone:
    if zone == "Z":
        return timezone.utc
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(zone)
    return timezone((-1 if zone[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes))


# --- index extraction -------------------------------------------------------------------------

def _concepts(name: str) -> Callable[[dict], Iterable[tuple[str, str]]]:
    return lambda r: codings(r.get(name))


def _identifiers(r: dict) -> Iterable[tuple[str, str]]:
    return [(i.get("system") or "", i["value"]) for i in r.get("identifier") or [] if i.get("value")]


def _plain_code(name: str) -> Callable[[dict], Iterable[tuple[str, str]]]:
    return lambda r: [("", r[name])] if isinstance(r.get(name), str) else []


def _references(name: str) -> Callable[[dict], Iterable[str]]:
    def extract(r: dict) -> Iterable[str]:
        value = r.get(name)
        refs = value if isinstance(value, list) else [value] if value else []
        return [k for ref in refs if (k := reference_key(ref.get("reference") or ""))]
    return extract


def _human_names(parts: tuple[str, ...]) -> Callable[[dict], Iterable[str]]:
    def extract(r: dict) -> Iterable[str]:
        out: set[str] = set()
        for name in r.get("name") or []:
            words = [w for p in parts for w in (name.get(p) if p == "given" else [name.get(p)]) or [] if w]
            out.update(normalize_text(w) for w in words)
            if "text" in parts:
                joined = " ".join([*(name.get("given") or []), name.get("family") or ""])
                out.add(normalize_text(name.get("text") or joined))
        return out
    return extract


def _org_names(r: dict) -> Iterable[str]:
    return {normalize_text(n) for n in [r.get("name"), *(r.get("alias") or [])] if n}


def _effective(r: dict) -> Iterable[tuple[float, float]]:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if r.get(key):
            return [date_range(r[key])]
    period = r.get("effectivePeriod") or {}
    if period.get("start") or period.get("end"):
        lo = date_range(period["start"])[0] if period.get("start") else float("-inf")
        hi = date_range(period["end"])[1] if period.get("end") else float("inf")
        return [(lo, hi)]
    return []


ID = Param("id")
IDENTIFIER = Param("token", _identifiers)
ANYONE = ("Practitioner", "PractitionerRole", "Organization", "Patient", "RelatedPerson", "CareTeam")
PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "_id": ID, "identifier": IDENTIFIER,
        "name": Param("string", _human_names(("family", "given", "prefix", "suffix", "text"))),
        "family": Param("string", _human_names(("family",))),
        "given": Param("string", _human_names(("given",))),
        "birthdate": Param("date", lambda r: [date_range(r["birthDate"])] if r.get("birthDate") else []),
        "gender": Param("token", _plain_code("gender")),
        "general-practitioner": Param("reference", _references("generalPractitioner"),
                                      ("Practitioner", "PractitionerRole", "Organization")),
    },
    "Practitioner": {"_id": ID, "identifier": IDENTIFIER,
                     "name": Param("string", _human_names(("family", "given", "prefix", "suffix", "text")))},
    "PractitionerRole": {
        "_id": ID, "identifier": IDENTIFIER,
        "practitioner": Param("reference", _references("practitioner"), ("Practitioner",)),
        "organization": Param("reference", _references("organization"), ("Organization",)),
        "role": Param("token", _concepts("code")),
    },
    "Organization": {"_id": ID, "identifier": IDENTIFIER, "name": Param("string", _org_names)},
    "Observation": {
        "_id": ID, "patient": Param("patient", targets=("Patient",)),
        "subject": Param("reference", _references("subject"), ("Patient", "Group", "Device", "Location")),
        "code": Param("token", _concepts("code")), "category": Param("token", _concepts("category")),
        "date": Param("date", _effective), "status": Param("token", _plain_code("status")),
        "performer": Param("reference", _references("performer"), ANYONE),
        "device": Param("reference", _references("device"), ("Device", "DeviceMetric")),
    },
    "Condition": {
        "_id": ID, "patient": Param("patient", targets=("Patient",)),
        "subject": Param("reference", _references("subject"), ("Patient", "Group")),
        "code": Param("token", _concepts("code")), "category": Param("token", _concepts("category")),
        "clinical-status": Param("token", _concepts("clinicalStatus")),
    },
    "Device": {"_id": ID, "identifier": IDENTIFIER, "patient": Param("patient", targets=("Patient",)),
               "type": Param("token", _concepts("type"))},
}
# Where a resource's patient is (R4 compartmentdefinition-patient.html); other types have none.
COMPARTMENT = {"Patient": None, "Observation": "subject", "Condition": "subject", "Device": "patient"}


def patient_of(resource: dict) -> str | None:
    """The id of the patient whose compartment holds this resource, if any."""
    rtype = resource.get("resourceType")
    if rtype not in COMPARTMENT:
        return None
    if rtype == "Patient":
        return resource.get("id")
    key = reference_key((resource.get(COMPARTMENT[rtype]) or {}).get("reference") or "")
    return key.split("/")[1] if key and key.startswith("Patient/") else None


def index_entries(resource: dict) -> tuple[tuple[float, float] | None, list[tuple[str, str, str]]]:
    """The resource's date range (its one date parameter) and its (param, system, code) index rows."""
    span: tuple[float, float] | None = None
    rows: list[tuple[str, str, str]] = []
    for name, param in PARAMS.get(resource.get("resourceType", ""), {}).items():
        if param.extract is None:
            continue
        if param.kind == "date":
            span = next(iter(param.extract(resource)), None)
        elif param.kind == "token":
            rows.extend((name, system, code) for system, code in param.extract(resource))
        else:
            rows.extend((name, "", value) for value in param.extract(resource))
    return span, rows
