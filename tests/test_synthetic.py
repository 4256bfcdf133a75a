"""The sandbox's synthetic home-monitoring data: deterministic, valid identifiers, realistic and messy."""
from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from app import identifiers, settings
from smart.sandbox import db as sandbox_db
from smart.sandbox import synthetic
from smart.sandbox.store import FhirStore

SEED = 20250123
DENSE = 500
LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
SHOWN = ("final", "amended", "corrected")
OSLO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$")


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return list(synthetic.generate(SEED, DENSE))


@pytest.fixture(scope="module")
def by_key(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


@pytest.fixture(scope="module")
def observations(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == "Observation"]


def of_type(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == rtype]


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def canonical(quantity: dict[str, Any]) -> float:
    """Value in kg, Cel or the unit as sent, converted the way the app must convert it."""
    value, unit = quantity["value"], quantity["code"]
    return {"[lb_av]": value * 0.45359237, "g": value / 1000, "[degF]": (value - 32) * 5 / 9}.get(unit, value)


def series(observations: list[dict[str, Any]], patient: str, loinc: str, snomed: str) -> list[tuple[datetime, float]]:
    """Shown values of one vital for one patient, by time, whichever code system the feed used."""
    wanted = {(LOINC, loinc), (SNOMED, snomed)}
    return sorted((datetime.fromisoformat(o["effectiveDateTime"]), canonical(o["valueQuantity"]))
                  for o in observations
                  if o["subject"]["reference"] == f"Patient/{patient}" and o["status"] in SHOWN
                  and "valueQuantity" in o and codes(o["code"]) & wanted)


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_same_seed_gives_identical_resources() -> None:
    assert list(synthetic.generate(7, 300)) == list(synthetic.generate(7, 300))


def test_other_seed_gives_other_measurements_for_the_same_cast() -> None:
    first, second = list(synthetic.generate(7, 300)), list(synthetic.generate(8, 300))
    assert of_type(first, "Patient") == of_type(second, "Patient")
    assert of_type(first, "Observation") != of_type(second, "Observation")


def test_ids_are_unique_readable_and_valid_fhir_ids(resources: list[dict[str, Any]]) -> None:
    keys = Counter(f"{r['resourceType']}/{r['id']}" for r in resources)
    assert keys.most_common(1)[0][1] == 1
    assert all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", r["id"]) for r in resources)
    assert all(re.fullmatch(r"obs-pas-\d\d-\d{6}", o["id"]) for o in of_type(resources, "Observation"))


def test_every_reference_points_at_a_generated_resource(resources: list[dict[str, Any]],
                                                         by_key: dict[str, dict[str, Any]]) -> None:
    dangling = {ref for r in resources for ref in references(r) if ref not in by_key}
    assert dangling == set()


def test_twelve_patients_have_ninety_days_of_measurements(observations: list[dict[str, Any]]) -> None:
    assert len(synthetic.PATIENT_IDS) >= 12
    for patient in synthetic.PATIENT_IDS:
        times = [datetime.fromisoformat(o["effectiveDateTime"]) for o in observations
                 if o["subject"]["reference"] == f"Patient/{patient}"]
        assert len(times) > 300, patient
        assert synthetic.DATA_END - timedelta(days=90) <= min(times) < synthetic.DATA_END - timedelta(days=89), patient
        assert max(times) > synthetic.DATA_END - timedelta(days=2), patient


@pytest.mark.parametrize("wanted", [0, 1500, 5000])
def test_dense_patient_has_at_least_the_requested_observations(wanted: int) -> None:
    subject = f"Patient/{synthetic.DENSE_PATIENT_ID}"
    dense = [r for r in synthetic.generate(SEED, wanted)
             if r["resourceType"] == "Observation" and r["subject"]["reference"] == subject]
    assert len(dense) >= max(wanted, 365 * 3)
    assert len(dense) < max(wanted, 365 * 3) * 1.05 + 10


def test_default_dense_year_is_generated_fast() -> None:
    wanted = settings.SETTINGS["SANDBOX_DENSE_OBSERVATIONS"].default
    started = time.perf_counter()
    resources = list(synthetic.generate(SEED, wanted))
    elapsed = time.perf_counter() - started
    dense = [datetime.fromisoformat(r["effectiveDateTime"]) for r in resources
             if r["resourceType"] == "Observation" and r["subject"]["reference"].endswith(synthetic.DENSE_PATIENT_ID)]
    assert len(dense) >= wanted >= 20000
    assert max(dense) - min(dense) > timedelta(days=364)
    assert elapsed < 2.0


def test_patients_carry_valid_synthetic_fnr_matching_gender_and_birth_date(resources: list[dict[str, Any]]) -> None:
    patients = of_type(resources, "Patient")
    assert {p["id"] for p in patients} == {*synthetic.ALL_PATIENT_IDS, synthetic.NEWCOMER_ID}
    for patient in patients:
        fnr = next(i["value"] for i in patient["identifier"] if i["system"] == identifiers.FNR)
        assert identifiers.is_synthetic_fnr(fnr), fnr
        assert identifiers.fnr_birth_date(fnr).isoformat() == patient["birthDate"]
        assert patient["gender"] == ("male" if identifiers.fnr_is_male(fnr) else "female")
        assert patient["generalPractitioner"][0]["reference"].startswith("Practitioner/")
        assert patient["managingOrganization"]["reference"].startswith("Organization/")


def test_the_newly_enrolled_patient_has_no_measurements_yet(resources: list[dict[str, Any]]) -> None:
    subjects = {o["subject"]["reference"] for o in of_type(resources, "Observation")}
    assert f"Patient/{synthetic.NEWCOMER_ID}" not in subjects
    assert any(c["subject"]["reference"] == f"Patient/{synthetic.NEWCOMER_ID}" for c in of_type(resources, "Condition"))


def test_organisations_have_valid_orgnr_and_two_to_four_practitioners(resources: list[dict[str, Any]]) -> None:
    orgs = of_type(resources, "Organization")
    assert {o["name"] for o in orgs} == {"Asker kommune", "Drammen kommune", "Vestre Viken HF"}
    assert all(identifiers.is_valid_orgnr(o["identifier"][0]["value"]) for o in orgs)
    staff = Counter(r["organization"]["reference"] for r in of_type(resources, "PractitionerRole"))
    assert all(2 <= staff[f"Organization/{o['id']}"] <= 4 for o in orgs)


def test_practitioners_have_valid_hpr_and_a_role(resources: list[dict[str, Any]]) -> None:
    practitioners = of_type(resources, "Practitioner")
    assert {p["id"] for p in practitioners} == set(synthetic.PRACTITIONER_IDS)
    for practitioner in practitioners:
        hpr = next(i["value"] for i in practitioner["identifier"] if i["system"] == identifiers.HPR)
        assert identifiers.is_valid_hpr(hpr)
    roles = {r["practitioner"]["reference"]: r["code"][0]["text"] for r in of_type(resources, "PractitionerRole")}
    assert set(roles) == {f"Practitioner/{p}" for p in synthetic.PRACTITIONER_IDS}
    assert set(roles.values()) == {"Lege", "Sykepleier"}


def test_each_patient_has_a_follow_up_reason_in_snomed(resources: list[dict[str, Any]]) -> None:
    conditions = {c["id"]: c for c in of_type(resources, "Condition")}
    for patient in synthetic.ALL_PATIENT_IDS:
        condition = conditions[f"cond-{patient}"]
        assert condition["subject"]["reference"] == f"Patient/{patient}"
        assert condition["code"]["coding"][0]["system"] == SNOMED
    assert "ytelsestest" in conditions[f"cond-{synthetic.DENSE_PATIENT_ID}"]["code"]["text"]
    reasons = {c["code"]["coding"][0]["code"] for c in conditions.values()}
    assert {"84114007", "13645005", "38341003"} <= reasons  # heart failure, COPD, hypertension


def test_every_observation_is_a_vital_sign_with_an_oslo_timestamp(observations: list[dict[str, Any]],
                                                                   by_key: dict[str, dict[str, Any]]) -> None:
    for obs in observations:
        assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
        assert obs["subject"]["reference"] in by_key
        parts = [obs] if "valueQuantity" in obs else obs["component"]
        quantities = [part["valueQuantity"] for part in parts]
        assert quantities and all(q["system"] == UCUM and q["code"] and q["unit"] for q in quantities), obs["id"]
        assert OSLO_TIMESTAMP.match(obs["effectiveDateTime"]), obs["effectiveDateTime"]
        when = datetime.fromisoformat(obs["effectiveDateTime"])
        assert when.utcoffset() == when.astimezone(synthetic.OSLO).utcoffset(), obs["effectiveDateTime"]
        assert when < synthetic.DATA_END


def test_offsets_follow_daylight_saving_time(observations: list[dict[str, Any]]) -> None:
    offsets = Counter(o["effectiveDateTime"][-6:] for o in observations)
    assert offsets["+01:00"] > 100 and offsets["+02:00"] > 100


def _bp_panel(o: dict[str, Any]) -> bool:
    return (LOINC, "85354-9") in codes(o["code"]) and len(o.get("component", [])) == 2


def _snomed_only(o: dict[str, Any]) -> bool:
    return {system for system, _ in codes(o["code"])} == {SNOMED}


def _loinc_only(o: dict[str, Any]) -> bool:
    return {system for system, _ in codes(o["code"])} == {LOINC}


def _unit(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o.get("valueQuantity", {}).get("code") == code


def _status(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o["status"] == status


@pytest.mark.parametrize("feature", [
    _bp_panel,
    lambda o: bool(codes(o["code"]) & {(LOINC, "8480-6"), (SNOMED, "271649006")}) and "valueQuantity" in o,
    lambda o: bool(codes(o["code"]) & {(LOINC, "8462-4"), (SNOMED, "271650006")}) and "valueQuantity" in o,
    _snomed_only,
    _loinc_only,
    lambda o: not _snomed_only(o) and not _loinc_only(o),
    lambda o: (LOINC, "59408-5") in codes(o["code"]),
    _unit("[lb_av]"), _unit("g"), _unit("[degF]"), _unit("kg"), _unit("Cel"),
    _status("entered-in-error"), _status("amended"), _status("preliminary"),
    lambda o: o["performer"][0]["reference"].startswith("Practitioner/"),
    lambda o: [p["reference"].split("/")[0] for p in o["performer"]] == ["Patient", "Organization"],
    lambda o: [p["reference"].split("/")[0] for p in o["performer"]] == ["Patient"],
    lambda o: "device" in o and "value" in o["device"]["identifier"],
], ids=["bp-panel", "bp-split-systolic", "bp-split-diastolic", "snomed-only", "loinc-only", "both-codes",
        "pulse-oximetry", "lb", "gram", "fahrenheit", "kg", "celsius", "entered-in-error", "amended", "preliminary",
        "nurse-performer", "patient-and-organisation", "patient-only", "device"])
def test_messy_real_world_feature_occurs(observations: list[dict[str, Any]],
                                         feature: Callable[[dict[str, Any]], bool]) -> None:
    assert any(feature(o) for o in observations)


def test_devices_are_named_models_with_serial_numbers(resources: list[dict[str, Any]],
                                                      observations: list[dict[str, Any]]) -> None:
    names = {d["deviceName"][0]["name"] for d in of_type(resources, "Device")}
    assert {"Omron M7 Intelli IT", "Nonin 3230", "Withings Body+", "A&D UA-651BLE"} <= names
    assert all(d["serialNumber"] for d in of_type(resources, "Device"))
    assert {o["device"]["display"] for o in observations if "device" in o} <= names


def test_heart_failure_patient_gains_weight_with_rising_pulse_in_the_last_week(
        observations: list[dict[str, Any]]) -> None:
    patient = synthetic.HEART_FAILURE_DETERIORATION_ID
    weight = series(observations, patient, "29463-7", "27113001")
    week_ago = synthetic.DATA_END - timedelta(days=8)
    before = [value for when, value in weight if when < week_ago]
    assert weight[-1][1] - before[-1] >= 2.0
    pulse = series(observations, patient, "8867-4", "364075005")
    recent = [value for when, value in pulse if when > synthetic.DATA_END - timedelta(days=2)]
    earlier = [value for when, value in pulse if when < week_ago]
    assert min(recent) > sum(earlier) / len(earlier) + 10


def test_copd_exacerbation_drops_spo2_and_speeds_breathing(observations: list[dict[str, Any]]) -> None:
    patient = synthetic.COPD_EXACERBATION_ID
    spo2 = series(observations, patient, "2708-6", "431314004")
    breaths = series(observations, patient, "9279-1", "86290005")
    assert 85 <= min(value for _, value in spo2) <= 88
    assert max(value for _, value in breaths) >= 25
    first_month = [value for when, value in spo2 if when < synthetic.DATA_END - timedelta(days=60)]
    assert min(first_month) >= 89


def test_postoperative_fever_is_visible(observations: list[dict[str, Any]]) -> None:
    temperature = series(observations, synthetic.POSTOPERATIVE_FEVER_ID, "8310-5", "276885007")
    assert max(value for _, value in temperature) >= 38.5
    assert max(value for _, value in temperature[-30:]) < 38.0


def test_seed_writes_everything_into_the_store(tmp_path: Path) -> None:
    database = sandbox_db.connect(str(tmp_path / "sandbox.sqlite"))
    try:
        store = FhirStore(database)
        store.ensure_schema()
        written = synthetic.seed(store, seed=SEED, dense_observations=DENSE)
        assert written == sum(1 for _ in synthetic.generate(SEED, DENSE))
        assert store.read("Patient", synthetic.DENSE_PATIENT_ID)["name"][0]["family"] == "Hagen"
        assert len(store.all("Organization")) == 3
    finally:
        database.conn.close()
