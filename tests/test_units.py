"""UCUM conversion to each vital's canonical unit, and refusal of units we do not know."""
from __future__ import annotations

import re

import pytest

from app import units
from app.units import UCUM, MissingUnitError, UnitError, convert_quantity


@pytest.mark.parametrize(
    ("quantity", "canonical", "expected", "tolerance"),
    [
        ({"value": 154.3, "system": UCUM, "code": "[lb_av]", "unit": "lb"}, units.KG, 69.99, 0.01),
        ({"value": 72500, "system": UCUM, "code": "g"}, units.KG, 72.5, 1e-9),
        ({"value": 80.4, "system": UCUM, "code": "kg"}, units.KG, 80.4, 1e-9),
        ({"value": 16, "system": UCUM, "code": "[oz_av]"}, units.KG, 0.45359237, 1e-9),
        ({"value": 98.6, "system": UCUM, "code": "[degF]", "unit": "°F"}, units.CELSIUS, 37.0, 1e-9),
        ({"value": 310.15, "system": UCUM, "code": "K"}, units.CELSIUS, 37.0, 1e-9),
        ({"value": 37.2, "system": UCUM, "code": "Cel"}, units.CELSIUS, 37.2, 1e-9),
        ({"value": 128, "system": UCUM, "code": "mm[Hg]"}, units.MM_HG, 128, 1e-9),
        ({"value": 72, "system": UCUM, "code": "/min"}, units.PER_MIN, 72, 1e-9),
        ({"value": 72, "system": UCUM, "code": "{beats}/min"}, units.PER_MIN, 72, 1e-9),
        ({"value": 16, "system": UCUM, "code": "{breaths}/min"}, units.PER_MIN, 16, 1e-9),
        ({"value": 97, "system": UCUM, "code": "%{HemoglobinSaturation}"}, units.PERCENT, 97, 1e-9),
        ({"value": 6.2, "system": UCUM, "code": "mmol/L"}, units.MMOL_L, 6.2, 1e-9),
    ],
)
def test_ucum_codes_convert_to_the_canonical_unit(quantity, canonical, expected, tolerance):
    assert convert_quantity(quantity, canonical) == pytest.approx(expected, abs=tolerance)


def test_fahrenheit_conversion_has_no_float_noise():
    assert convert_quantity({"value": 98.6, "system": UCUM, "code": "[degF]"}, units.CELSIUS) == 37.0


@pytest.mark.parametrize(("code", "expected"), [("mg/dL", 4.9956), ("mg/dl", 4.9956)])
def test_glucose_in_mg_per_dl_becomes_mmol_per_l(code, expected):
    quantity = {"value": 90, "system": UCUM, "code": code}
    value = convert_quantity(quantity, units.MMOL_L, molar_mass=units.GLUCOSE_MOLAR_MASS)
    assert value == pytest.approx(expected, abs=1e-4)
    assert value == pytest.approx(90 / 18.016, abs=1e-6)


@pytest.mark.parametrize(
    ("quantity", "canonical", "expected"),
    [
        ({"value": 154.3, "unit": "lbs"}, units.KG, 69.99),
        ({"value": 154.3, "unit": "lb"}, units.KG, 69.99),
        ({"value": 98.6, "unit": "°F"}, units.CELSIUS, 37.0),
        ({"value": 37.0, "unit": "°C"}, units.CELSIUS, 37.0),
        ({"value": 72, "unit": "bpm"}, units.PER_MIN, 72),
        ({"value": 72, "unit": "beats/min"}, units.PER_MIN, 72),
        ({"value": 72, "unit": "slag/min"}, units.PER_MIN, 72),
        ({"value": 120, "unit": "mmHg"}, units.MM_HG, 120),
        ({"value": 6.1, "unit": "mmol/l"}, units.MMOL_L, 6.1),
        ({"value": 80, "code": "kg"}, units.KG, 80),
        ({"value": 80, "system": UCUM, "unit": "KG"}, units.KG, 80),
    ],
)
def test_well_known_spellings_are_understood_when_no_ucum_code_is_sent(quantity, canonical, expected):
    assert convert_quantity(quantity, canonical) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("quantity", "canonical", "message"),
    [
        ({"value": 16, "system": UCUM, "code": "kPa"}, units.MM_HG, "kPa"),
        ({"value": 11, "system": UCUM, "code": "[st_av]"}, units.KG, "[st_av]"),
        ({"value": 3, "system": UCUM, "code": "{score}"}, units.PER_MIN, "{score}"),
        ({"value": 98, "system": UCUM, "code": "F", "unit": "°F"}, units.CELSIUS, "'F'"),
        ({"value": 80, "system": UCUM, "code": "kg"}, units.PER_MIN, "cannot be converted"),
        ({"value": 90, "system": UCUM, "code": "mg/dL"}, units.MMOL_L, "molar mass"),
        ({"value": 11, "unit": "stone"}, units.KG, "stone"),
        ({"value": 80, "system": "http://example.org/units", "code": "kg"}, units.KG, "kg"),
    ],
)
def test_unknown_or_mismatched_units_are_rejected_not_guessed(quantity, canonical, message):
    with pytest.raises(UnitError, match=re.escape(message)):
        convert_quantity(quantity, canonical)


@pytest.mark.parametrize("quantity", [{"value": 72}, {"value": 72, "unit": " "}, {"value": 72, "system": UCUM}])
def test_a_quantity_without_unit_is_rejected_as_missing(quantity):
    with pytest.raises(MissingUnitError):
        convert_quantity(quantity, units.PER_MIN)
