"""UCUM unit handling for vital signs: find the unit a value was sent in and convert it to the canonical one.

Codes follow UCUM (https://ucum.org/ucum, FHIR system `http://unitsofmeasure.org`). A unit we do not know
is rejected with `UnitError`, never guessed: a wrong weight or temperature on a chart is worse than a gap.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

UCUM = "http://unitsofmeasure.org"

KG = "kg"
CELSIUS = "Cel"
MM_HG = "mm[Hg]"
PER_MIN = "/min"
PERCENT = "%"
MMOL_L = "mmol/L"

GLUCOSE_MOLAR_MASS = 180.16
"""g/mol (= mg/mmol) of glucose, C6H12O6; mg/dL × 10 ÷ 180.16 = mmol/L, i.e. ÷ 18.016."""

_DECIMALS = 9
"""Converted values are rounded here, so float noise (36.99999999999999) never reaches a chart or a duplicate check."""


class UnitError(ValueError):
    """The unit is missing, unknown, or does not measure what the vital needs."""


class MissingUnitError(UnitError):
    """The quantity names no unit at all."""


@dataclass(frozen=True)
class _Conversion:
    canonical: str
    convert: Callable[[float, float], float]
    needs_molar_mass: bool = False


def _scale(factor: float) -> Callable[[float, float], float]:
    return lambda value, _molar_mass: value * factor


def _fahrenheit(value: float, _molar_mass: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


def _kelvin(value: float, _molar_mass: float) -> float:
    return value - 273.15


def _mg_dl(value: float, molar_mass: float) -> float:
    # mg/dL → mg/L (× 10) → mmol/L (÷ mg/mmol, which is the molar mass in g/mol).
    return value * 10.0 / molar_mass


_IDENTITY = _scale(1.0)

# UCUM case-sensitive codes (after annotations are stripped) → canonical unit and conversion.
# The avoirdupois pound and ounce are exact by definition (UCUM table of customary units).
CONVERSIONS: dict[str, _Conversion] = {
    "kg": _Conversion(KG, _IDENTITY),
    "g": _Conversion(KG, _scale(0.001)),
    "[lb_av]": _Conversion(KG, _scale(0.45359237)),
    "[oz_av]": _Conversion(KG, _scale(0.028349523125)),
    "Cel": _Conversion(CELSIUS, _IDENTITY),
    "[degF]": _Conversion(CELSIUS, _fahrenheit),
    "K": _Conversion(CELSIUS, _kelvin),
    "mm[Hg]": _Conversion(MM_HG, _IDENTITY),
    "/min": _Conversion(PER_MIN, _IDENTITY),
    "1/min": _Conversion(PER_MIN, _IDENTITY),
    "min-1": _Conversion(PER_MIN, _IDENTITY),
    "%": _Conversion(PERCENT, _IDENTITY),
    "mmol/L": _Conversion(MMOL_L, _IDENTITY),
    "mmol/l": _Conversion(MMOL_L, _IDENTITY),
    "mg/dL": _Conversion(MMOL_L, _mg_dl, needs_molar_mass=True),
    "mg/dl": _Conversion(MMOL_L, _mg_dl, needs_molar_mass=True),
}

# Well-known human spellings in `Quantity.unit`, used only when no UCUM code was sent. Matched case-insensitively.
TEXT_ALIASES: dict[str, str] = {
    "kg": "kg", "kilo": "kg", "kilogram": "kg", "g": "g", "gram": "g",
    "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]", "[lb_av]": "[lb_av]",
    "°c": "Cel", "ºc": "Cel", "℃": "Cel", "degc": "Cel", "cel": "Cel", "celsius": "Cel",
    "°f": "[degF]", "ºf": "[degF]", "℉": "[degF]", "degf": "[degF]", "[degf]": "[degF]", "fahrenheit": "[degF]",
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]", "mm[hg]": "mm[Hg]",
    "/min": "/min", "1/min": "/min", "per min": "/min", "bpm": "/min", "beats/min": "/min",
    "beats/minute": "/min", "slag/min": "/min", "breaths/min": "/min", "breaths/minute": "/min",
    "pust/min": "/min", "åndedrag/min": "/min", "{beats}/min": "/min", "{breaths}/min": "/min",
    "%": "%", "percent": "%", "prosent": "%",
    "mmol/l": "mmol/L", "mg/dl": "mg/dL",
}

# UCUM: text in curly braces is an annotation and carries no meaning ({beats}/min = /min, %{saturation} = %).
_ANNOTATION = re.compile(r"\{[^{}]*\}")


def ucum_code(quantity: Mapping[str, Any]) -> str:
    """The UCUM code a FHIR Quantity was sent in: its `code` when the system is UCUM, else a known `unit` spelling.

    Raises UnitError when there is no unit or only an unrecognised one.
    """
    system, code, text = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    if system == UCUM and isinstance(code, str) and code.strip():
        stripped = _ANNOTATION.sub("", code.strip())
        if stripped in CONVERSIONS:
            return stripped
        raise UnitError(f"unknown UCUM unit {code!r}")
    for candidate in (code if system in (None, UCUM) else None, text):
        if isinstance(candidate, str) and candidate.strip().lower() in TEXT_ALIASES:
            return TEXT_ALIASES[candidate.strip().lower()]
    shown = text if isinstance(text, str) and text.strip() else code
    if not (isinstance(shown, str) and shown.strip()):
        raise MissingUnitError("no unit")
    raise UnitError(f"unknown unit {shown!r}")


def to_canonical(value: float, code: str, canonical: str, *, molar_mass: float | None = None) -> float:
    """Convert `value` from UCUM `code` to `canonical`; mass concentration needs the substance's molar mass (g/mol)."""
    conversion = CONVERSIONS.get(code)
    if conversion is None:
        raise UnitError(f"unknown unit {code!r}")
    if conversion.canonical != canonical:
        raise UnitError(f"{code!r} cannot be converted to {canonical!r}")
    if conversion.needs_molar_mass and molar_mass is None:
        raise UnitError(f"{code!r} needs a molar mass to become {canonical!r}")
    result = conversion.convert(float(value), math.nan if molar_mass is None else molar_mass)
    if not math.isfinite(result):
        raise UnitError(f"{value!r} {code} is not a finite quantity")
    return round(result, _DECIMALS)


def convert_quantity(quantity: Mapping[str, Any], canonical: str, *, molar_mass: float | None = None) -> float:
    """A FHIR Quantity's value in `canonical` units; UnitError for a missing, unknown or mismatched unit."""
    return to_canonical(quantity["value"], ucum_code(quantity), canonical, molar_mass=molar_mass)
