"""Normalising messy real-world vital-sign Observations into per-vital series."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app.identifiers import HPR, ORGNR
from app.units import UCUM
from app.vitals import LOINC, SNOMED, VITALS, Point, ago, last_measured, normalise, oslo

WHEN = "2026-11-20T07:15:00Z"
UTC_WHEN = datetime(2026, 11, 20, 7, 15, tzinfo=timezone.utc)


def coding(*codes: tuple[str, str]) -> dict:
    return {"coding": [{"system": system, "code": code} for system, code in codes]}


def quantity(value: Any, code: str | None = None, unit: str | None = None) -> dict:
    q: dict[str, Any] = {"value": value}
    if code is not None:
        q.update(system=UCUM, code=code)
    if unit is not None:
        q["unit"] = unit
    return q


def observation(id: str, codes: list[tuple[str, str]], value: Any = None, *, status: str = "final",
                when: str | None = WHEN, **extra: Any) -> dict:
    obs: dict[str, Any] = {"resourceType": "Observation", "id": id, "status": status, "code": coding(*codes)}
    if when is not None:
        obs["effectiveDateTime"] = when
    if value is not None:
        obs["valueQuantity"] = value
    obs.update(extra)
    return obs


def bp_panel(id: str, systolic: float | None, diastolic: float | None, *, when: str = WHEN, **extra: Any) -> dict:
    components = []
    if systolic is not None:
        components.append({"code": coding((LOINC, "8480-6")), "valueQuantity": quantity(systolic, "mm[Hg]")})
    if diastolic is not None:
        components.append({"code": coding((SNOMED, "271650006")), "valueQuantity": quantity(diastolic, "mm[Hg]")})
    return observation(id, [(LOINC, "85354-9"), (SNOMED, "75367002")], when=when, component=components, **extra)


def values(series, key: str) -> list[float]:
    return [p.value for p in series[key]]


@pytest.mark.parametrize(
    ("codes", "value", "key"),
    [
        ([(LOINC, "8867-4")], quantity(72, "/min"), "heart_rate"),
        ([(SNOMED, "364075005")], quantity(72, "/min"), "heart_rate"),
        ([(LOINC, "8867-4"), (SNOMED, "364075005")], quantity(72, "/min"), "heart_rate"),
        ([(LOINC, "9279-1")], quantity(16, "/min"), "resp_rate"),
        ([(SNOMED, "86290005")], quantity(16, "{breaths}/min"), "resp_rate"),
        ([(LOINC, "2708-6")], quantity(97, "%"), "spo2"),
        ([(LOINC, "59408-5")], quantity(97, "%"), "spo2"),
        ([(SNOMED, "431314004")], quantity(97, "%"), "spo2"),
        ([(LOINC, "8310-5")], quantity(37.2, "Cel"), "temperature"),
        ([(SNOMED, "276885007")], quantity(37.2, "Cel"), "temperature"),
        ([(LOINC, "29463-7")], quantity(80.5, "kg"), "weight"),
        ([(SNOMED, "27113001"), (LOINC, "29463-7")], quantity(80.5, "kg"), "weight"),
        ([(LOINC, "15074-8")], quantity(6.2, "mmol/L"), "glucose"),
        ([(SNOMED, "434912009")], quantity(6.2, "mmol/L"), "glucose"),
        ([(LOINC, "8480-6")], quantity(128, "mm[Hg]"), "bp_systolic"),
        ([(SNOMED, "271650006")], quantity(82, "mm[Hg]"), "bp_diastolic"),
        ([(SNOMED, "999999"), (LOINC, "8867-4")], quantity(72, "/min"), "heart_rate"),
    ],
)
def test_loinc_or_snomed_or_both_land_in_the_right_vital(codes, value, key):
    series = normalise([observation("o1", codes, value)])
    assert series.present() == [key]
    assert series[key][0].value == value["value"]
    assert series.skipped == {}


def test_blood_pressure_panel_components_land_in_systolic_and_diastolic():
    series = normalise([bp_panel("bp1", 128, 82)])
    assert values(series, "bp_systolic") == [128]
    assert values(series, "bp_diastolic") == [82]
    assert series["bp_systolic"][0].observation_id == "bp1"


def test_split_blood_pressure_observations_join_the_panel_ones_in_one_series():
    series = normalise([
        bp_panel("panel", 140, 90, when="2026-11-20T07:00:00Z"),
        observation("sys", [(LOINC, "8480-6")], quantity(128, "mm[Hg]")),
        observation("dia", [(SNOMED, "271650006")], quantity(82, unit="mmHg")),
    ])
    assert [(p.time, p.value) for p in series["bp_systolic"]] == [(UTC_WHEN - timedelta(minutes=15), 140),
                                                                    (UTC_WHEN, 128)]
    assert [(p.time, p.value) for p in series["bp_diastolic"]] == [(UTC_WHEN - timedelta(minutes=15), 90),
                                                                     (UTC_WHEN, 82)]


def test_a_panel_and_the_same_values_sent_separately_are_counted_once():
    series = normalise([
        bp_panel("panel", 128, 82),
        observation("sys", [(LOINC, "8480-6")], quantity(128, "mm[Hg]")),
        observation("dia", [(LOINC, "8462-4")], quantity(82, "mm[Hg]")),
    ])
    assert values(series, "bp_systolic") == [128]
    assert values(series, "bp_diastolic") == [82]
    assert series.skipped == {"duplicate": 2}


def test_the_old_bp_panel_code_is_understood():
    panel = bp_panel("old", 120, 80)
    panel["code"] = coding((LOINC, "55284-4"))
    assert values(normalise([panel]), "bp_diastolic") == [80]


def test_a_panel_missing_one_half_keeps_the_other():
    series = normalise([bp_panel("half", 128, None)])
    assert values(series, "bp_systolic") == [128]
    assert series["bp_diastolic"] == []


def test_a_panel_with_a_bad_component_reports_that_component():
    panel = bp_panel("bad", 128, 82)
    panel["component"][1]["valueQuantity"] = quantity(11, "kPa")
    series = normalise([panel])
    assert values(series, "bp_systolic") == [128]
    assert series.skipped == {"unknown_unit": 1}


def test_a_pulse_sent_as_a_component_of_the_bp_panel_lands_in_heart_rate():
    panel = bp_panel("cuff", 128, 82)
    panel["component"].append({"code": coding((LOINC, "8867-4")), "valueQuantity": quantity(64, "/min")})
    series = normalise([panel])
    assert (values(series, "bp_systolic"), values(series, "heart_rate")) == ([128], [64])


def test_a_vital_signs_panel_with_an_unknown_code_still_yields_its_components():
    panel = observation("vs", [(LOINC, "85353-1")], component=[
        {"code": coding((SNOMED, "86290005")), "valueQuantity": quantity(18, "/min")},
        {"code": coding((LOINC, "2708-6")), "valueQuantity": quantity(95, "%")},
        {"code": coding((LOINC, "8302-2")), "valueQuantity": quantity(180, "cm")},
    ])
    series = normalise([panel])
    assert (values(series, "resp_rate"), values(series, "spo2")) == ([18], [95])
    assert series.skipped == {}


@pytest.mark.parametrize(
    ("codes", "value", "key", "expected"),
    [
        ([(LOINC, "29463-7")], quantity(154.3, "[lb_av]"), "weight", 69.99),
        ([(LOINC, "29463-7")], quantity(154.3, unit="lbs"), "weight", 69.99),
        ([(LOINC, "29463-7")], quantity(72500, "g"), "weight", 72.5),
        ([(LOINC, "8310-5")], quantity(98.6, "[degF]"), "temperature", 37.0),
        ([(LOINC, "8310-5")], quantity(100.4, unit="°F"), "temperature", 38.0),
        ([(LOINC, "15074-8")], quantity(90, "mg/dL"), "glucose", 5.0),
        ([(LOINC, "8867-4")], quantity(72, unit="bpm"), "heart_rate", 72),
    ],
)
def test_units_are_converted_to_the_vitals_canonical_unit(codes, value, key, expected):
    point = normalise([observation("o1", codes, value)])[key][0]
    assert point.value == pytest.approx(expected, abs=0.01)
    assert point.unit == VITALS[key].unit


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_amended_and_corrected_are_shown(status):
    series = normalise([observation("o1", [(LOINC, "8867-4")], quantity(72, "/min"), status=status)])
    assert series["heart_rate"][0].status == status


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("preliminary", "status_preliminary"),
        ("entered-in-error", "status_entered-in-error"),
        ("registered", "status_registered"),
        ("cancelled", "status_cancelled"),
        ("unknown", "status_unknown"),
        (None, "missing_status"),
    ],
)
def test_other_statuses_are_skipped_and_counted(status, reason):
    series = normalise([observation("o1", [(LOINC, "8867-4")], quantity(72, "/min"), status=status)])
    assert series.present() == []
    assert series.skipped == {reason: 1}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"valueQuantity": None}, "missing_value"),
        ({"valueQuantity": {"unit": "/min"}}, "missing_value"),
        ({"valueQuantity": None, "dataAbsentReason": coding(("x", "asked-unknown"))}, "missing_value"),
        ({"valueQuantity": quantity("72", "/min")}, "bad_value"),
        ({"valueQuantity": quantity(True, "/min")}, "bad_value"),
        ({"valueQuantity": quantity(float("nan"), "/min")}, "bad_value"),
        ({"valueQuantity": quantity(72)}, "missing_unit"),
        ({"valueQuantity": quantity(72, "kg")}, "unknown_unit"),
        ({"valueQuantity": quantity(72, unit="hjerteslag")}, "unknown_unit"),
        ({"effectiveDateTime": None}, "missing_time"),
        ({"effectiveDateTime": "2026-11-20"}, "imprecise_time"),
        ({"effectiveDateTime": "2026-11"}, "imprecise_time"),
        ({"effectiveDateTime": "2026-11-20T08:15:00"}, "bad_time"),
        ({"effectiveDateTime": "i går"}, "bad_time"),
        ({"effectiveDateTime": "2026-13-45T08:15:00Z"}, "bad_time"),
        ({"effectiveDateTime": 20261120}, "bad_time"),
        ({"code": coding((LOINC, "8302-2"))}, "unrecognised_code"),
        ({"code": coding(("http://example.org", "8867-4"))}, "unrecognised_code"),
        ({"code": "pulse"}, "unrecognised_code"),
        ({"code": coding((LOINC, "8867-4"), (LOINC, "8310-5"))}, "conflicting_codes"),
    ],
)
def test_unusable_observations_are_skipped_with_a_reason(changes, reason):
    obs = observation("o1", [(LOINC, "8867-4")], quantity(72, "/min"))
    for name, value in changes.items():
        if value is None:
            obs.pop(name, None)
        else:
            obs[name] = value
    series = normalise([obs, observation("ok", [(LOINC, "8867-4")], quantity(70, "/min"), when="2026-11-21T07:00:00Z")])
    assert values(series, "heart_rate") == [70]
    assert series.skipped == {reason: 1}
    assert [s.observation_id for s in series.skips] == ["o1"]


@pytest.mark.parametrize(
    ("junk", "reason"),
    [
        (None, "not_observation"),
        ("Observation", "not_observation"),
        (42, "not_observation"),
        ({}, "not_observation"),
        ({"resourceType": "Patient", "id": "p1"}, "not_observation"),
        ({"resourceType": "Observation"}, "missing_status"),
        ({"resourceType": "Observation", "status": ["final"]}, "missing_status"),
        (observation("x", [(LOINC, "85354-9")], component="x"), "missing_value"),
        (observation("x", [(LOINC, "85354-9")], component=[None, {"code": 1}]), "missing_value"),
        (observation("x", [], code={"coding": [None, {"system": 1}, {"system": LOINC, "code": ["8867-4"]}]}),
         "unrecognised_code"),
    ],
)
def test_garbage_is_skipped_with_a_reason(junk, reason):
    series = normalise([junk])
    assert series.present() == []
    assert series.skipped == {reason: 1}


JUNK = [None, 1, "x", [], [1, None], {}, {"reference": 1, "display": [], "identifier": {"system": [], "value": 1}}]
FIELDS = ["id", "meta", "status", "code", "effectivePeriod", "valueQuantity", "performer", "device", "contained",
          "component"]


@pytest.mark.parametrize("junk", JUNK, ids=repr)
@pytest.mark.parametrize("field_name", FIELDS)
def test_junk_in_any_field_never_crashes(field_name, junk):
    obs = bp_panel("bp", 128, 82, performer=[{"reference": "Practitioner/1"}], device={"reference": "#d"},
                   contained=[{"resourceType": "Device", "id": "d", "deviceName": [{"name": "Omron"}]}])
    obs["valueQuantity"] = quantity(1, "mm[Hg]")
    obs[field_name] = junk
    series = normalise([obs])
    assert len(series["bp_systolic"]) + sum(series.skipped.values()) >= 1


def test_effective_period_start_and_instant_are_used_as_time():
    series = normalise([
        observation("period", [(LOINC, "8867-4")], quantity(70, "/min"), when=None,
                    effectivePeriod={"start": "2026-11-20T09:15:00+01:00", "end": "2026-11-20T09:20:00+01:00"}),
        observation("instant", [(LOINC, "8867-4")], quantity(71, "/min"), when=None,
                    effectiveInstant="2026-11-20T09:00:00Z"),
    ])
    assert [(p.observation_id, p.time) for p in series["heart_rate"]] == [
        ("period", UTC_WHEN + timedelta(hours=1)), ("instant", UTC_WHEN + timedelta(hours=1, minutes=45))]


def test_points_are_sorted_in_utc_whatever_offset_they_came_in():
    series = normalise([
        observation("late", [(LOINC, "8867-4")], quantity(80, "/min"), when="2026-11-20T09:00:00+01:00"),
        observation("early", [(LOINC, "8867-4")], quantity(70, "/min"), when="2026-11-20T07:30:00Z"),
        observation("earliest", [(LOINC, "8867-4")], quantity(60, "/min"), when="2026-11-20T01:00:00-05:00"),
    ])
    points = series["heart_rate"]
    assert [p.observation_id for p in points] == ["earliest", "early", "late"]
    assert all(p.time.tzinfo == timezone.utc for p in points)


def test_the_same_measurement_from_two_sources_is_kept_once_with_the_richer_context():
    bare = observation("a", [(LOINC, "8310-5")], quantity(98.6, "[degF]"))
    rich = observation("b", [(SNOMED, "276885007")], quantity(37.0, "Cel"), when="2026-11-20T08:15:00+01:00",
                       performer=[{"reference": "Patient/p1", "display": "Ola Nordmann"}])
    series = normalise([bare, rich])
    assert [(p.observation_id, p.value) for p in series["temperature"]] == [("b", 37.0)]
    assert series.skips[0].reason == "duplicate" and series.skips[0].observation_id == "a"


def test_same_instant_with_different_values_are_both_kept():
    series = normalise([observation("a", [(LOINC, "8867-4")], quantity(72, "/min")),
                        observation("b", [(LOINC, "8867-4")], quantity(74, "/min"))])
    assert values(series, "heart_rate") == [72, 74]


@pytest.mark.parametrize("newest_first", [True, False])
def test_an_amended_version_replaces_the_older_version_of_the_same_observation(newest_first):
    old = observation("w1", [(LOINC, "29463-7")], quantity(8.05, "kg"),
                      meta={"versionId": "1", "lastUpdated": "2026-11-20T08:00:00+01:00"})
    new = observation("w1", [(LOINC, "29463-7")], quantity(80.5, "kg"), status="amended",
                      meta={"versionId": "2", "lastUpdated": "2026-11-20T07:30:00Z"})
    series = normalise([new, old] if newest_first else [old, new])
    assert [(p.value, p.status) for p in series["weight"]] == [(80.5, "amended")]
    assert series.skipped == {"superseded": 1}


def test_performer_organisation_and_device_come_from_display_lookup_or_reference():
    obs = observation(
        "o1", [(LOINC, "8867-4")], quantity(72, "/min"),
        performer=[{"reference": "Practitioner/hp1"},
                   {"reference": "Organization/o1", "display": "Bydel Frogner hjemmesykepleie"}],
        device={"reference": "Device/d1"},
    )
    point = normalise([obs], lookup={"Practitioner/hp1": "Kari Nordmann"})["heart_rate"][0]
    assert (point.performer, point.organisation, point.device) == (
        "Kari Nordmann", "Bydel Frogner hjemmesykepleie", "Device/d1")


def test_references_without_names_fall_back_to_identifiers_and_contained_resources():
    obs = observation(
        "o1", [(LOINC, "8867-4")], quantity(72, "/min"),
        performer=[{"identifier": {"system": HPR, "value": "9144889"}},
                   {"identifier": {"system": ORGNR, "value": "974703300"}}],
        device={"reference": "#dev"},
        contained=[{"resourceType": "Device", "id": "dev",
                    "deviceName": [{"name": "Nonin 3230", "type": "model-name"}]}],
    )
    point = normalise([obs])["heart_rate"][0]
    assert (point.performer, point.organisation, point.device) == ("HPR-nr. 9144889", "org.nr. 974703300", "Nonin 3230")


def test_contained_performers_are_named_from_their_resource():
    obs = observation(
        "o1", [(LOINC, "8867-4")], quantity(72, "/min"),
        performer=[{"reference": "#hp"}, {"reference": "#org"}],
        contained=[{"resourceType": "Practitioner", "id": "hp",
                    "name": [{"given": ["Kari", "Eva"], "family": "Nordmann"}]},
                   {"resourceType": "Organization", "id": "org", "name": "Asker kommune"}],
        meta={"versionId": "²"},
    )
    point = normalise([obs])["heart_rate"][0]
    assert (point.performer, point.organisation) == ("Kari Eva Nordmann", "Asker kommune")


def test_an_absolute_performer_reference_is_resolved_through_the_lookup():
    obs = observation("o1", [(LOINC, "8867-4")], quantity(72, "/min"),
                      performer=[{"reference": "https://ehr.example/fhir/Practitioner/hp1/_history/3"},
                                 {"reference": "https://ehr.example/fhir/Organization/o9", "type": "Organization"}])
    point = normalise([obs], lookup={"Practitioner/hp1": "Kari Nordmann", "Organization/o9": "Lovisenberg"})[
        "heart_rate"][0]
    assert (point.performer, point.organisation) == ("Kari Nordmann", "Lovisenberg")


def test_self_measured_values_name_the_patient_as_performer():
    obs = observation("o1", [(LOINC, "29463-7")], quantity(80, "kg"),
                      performer=[{"reference": "Patient/p1", "display": "Ola Nordmann"}])
    point = normalise([obs])["weight"][0]
    assert (point.performer, point.organisation) == ("Ola Nordmann", None)


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 11, 20, 7, 15, tzinfo=timezone.utc), "20.11.2026 kl. 08:15"),
        (datetime(2026, 7, 1, 6, 15, tzinfo=timezone.utc), "01.07.2026 kl. 08:15"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), "29.03.2026 kl. 01:30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc), "29.03.2026 kl. 03:30"),
    ],
)
def test_times_are_shown_in_europe_oslo(moment, shown):
    assert oslo(moment) == shown


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        oslo(datetime(2026, 11, 20, 8, 15))


@pytest.mark.parametrize(
    ("age", "nb", "en"),
    [
        (timedelta(seconds=20), "akkurat nå", "just now"),
        (timedelta(minutes=1), "for 1 minutt siden", "1 minute ago"),
        (timedelta(minutes=45), "for 45 minutter siden", "45 minutes ago"),
        (timedelta(hours=1, minutes=5), "for 1 time siden", "1 hour ago"),
        (timedelta(hours=30), "for 30 timer siden", "30 hours ago"),
        (timedelta(days=3, hours=2), "for 3 dager siden", "3 days ago"),
    ],
)
def test_last_measured_says_how_long_ago(age, nb, en):
    series = normalise([observation("old", [(LOINC, "8867-4")], quantity(70, "/min"), when="2026-01-01T00:00:00Z"),
                        observation("new", [(LOINC, "8867-4")], quantity(72, "/min"))])
    last = last_measured(series["heart_rate"], UTC_WHEN + age)
    assert (last.point.observation_id, last.text_nb, last.text_en) == ("new", nb, en)
    assert (ago(age), ago(age, "en")) == (nb, en)


def test_last_measured_ignores_points_from_the_future_and_empty_series():
    future = Point(UTC_WHEN + timedelta(days=1), 99, "/min", "future")
    past = Point(UTC_WHEN - timedelta(hours=2), 70, "/min", "past")
    assert last_measured([past, future], UTC_WHEN).point is past
    assert last_measured([future], UTC_WHEN) is None
    assert last_measured([], UTC_WHEN) is None


def test_vital_values_are_formatted_with_a_decimal_comma_in_bokmal():
    assert VITALS["temperature"].format(37.25) == "37,3 °C"
    assert VITALS["temperature"].format(37.25, "en") == "37.3 °C"
    assert VITALS["weight"].format(69.989302691) == "70,0 kg"
    assert VITALS["heart_rate"].format(71.5) == "72 /min"
    assert VITALS["glucose"].format(4.9956) == "5,0 mmol/L"


def test_series_to_dict_is_json_ready():
    obs = observation("o1", [(LOINC, "8310-5")], quantity(98.6, "[degF]"),
                      performer=[{"reference": "Practitioner/1", "display": "Kari Nordmann"}])
    data = json.loads(json.dumps(normalise([obs, {"resourceType": "Patient"}]).to_dict()))
    point = data["vitals"]["temperature"]["points"][0]
    assert point == {"time": "2026-11-20T07:15:00Z", "time_oslo": "20.11.2026 kl. 08:15", "value": 37.0,
                     "unit": "Cel", "observation_id": "o1", "performer": "Kari Nordmann", "organisation": None,
                     "device": None, "status": "final"}
    assert data["vitals"]["temperature"]["normal"] == [36.1, 38.0]
    assert data["skipped"] == {"not_observation": 1}


def test_a_dense_series_of_twenty_thousand_observations_is_normalised_completely():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    observations = [
        observation(f"hr{i}", [(LOINC, "8867-4")], quantity(60 + i % 40, "/min"),
                    when=(start + timedelta(minutes=15 * i)).isoformat())
        for i in range(20_000)
    ]
    series = normalise(observations)
    assert len(series["heart_rate"]) == 20_000
    assert series.skipped == {}
