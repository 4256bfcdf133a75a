"""getVitals over real HTTP: the launched patient's vitals come back after a log entry is written; any other
patient, asked for in any way, is refused and the attempt logged; no log, no data."""
from __future__ import annotations

import re
import sqlite3

import pytest
import requests
from bs4 import BeautifulSoup

from app.access_log import AccessLog
from tests.journeys import ehr_launch, sandbox_people
from tests.servers import LiveServer

PATIENT_A, PATIENT_B = "pas-01", "pas-02"


@pytest.fixture(scope="module")
def people(app_server: LiveServer) -> dict:
    patients, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    return {"patients": {p["id"]: p for p in patients}, "practitioner": practitioners[0]}


@pytest.fixture()
def launch_page(browser: requests.Session, app_server: LiveServer, people: dict) -> requests.Response:
    """The page of patient A's launch, `{app}/l/<handle>/`."""
    return ehr_launch(browser, app_server, PATIENT_A, people["practitioner"]["id"])


@pytest.fixture()
def launched(browser: requests.Session, launch_page: requests.Response) -> requests.Session:
    return browser


@pytest.fixture()
def vitals_url(launch_page: requests.Response) -> str:
    """getVitals under the launch's own prefix, as the page's `data-api` names it."""
    api = BeautifulSoup(launch_page.text, "html.parser").select_one("#vitals")["data-api"]
    return requests.compat.urljoin(launch_page.url, api.split("?")[0])


@pytest.fixture()
def log(app_server: LiveServer) -> AccessLog:
    return app_server.app.extensions["access_log"]


def _fnr(patient: dict) -> str:
    return next(i["value"] for i in patient["identifier"] if i["system"] == "urn:oid:2.16.578.1.12.4.1.4.1")


def test_vitals_come_back_for_the_launched_patient_after_a_log_entry(
        launched: requests.Session, vitals_url: str, app_server: LiveServer, log: AccessLog, people: dict) -> None:
    fnr = _fnr(people["patients"][PATIENT_A])
    before = len(log.for_patient(fnr, limit=1000))
    response = launched.get(vitals_url, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert body["patient"]["id"] == PATIENT_A and body["complete"] is True
    keys = [c["key"] for c in body["charts"]]
    assert {"heart_rate", "blood_pressure", "weight"} <= set(keys)
    bp = next(c for c in body["charts"] if c["key"] == "blood_pressure")
    assert re.fullmatch(r"\d+/\d+ mmHg", bp["last_measured"]["value"])
    hr_rows = body["tables"]["heart_rate"]["rows"]
    assert len(hr_rows) >= 80 and all(r["values"][0].endswith("/min") for r in hr_rows)
    entries = log.for_patient(fnr, limit=1000)
    assert len(entries) == before + 1
    entry = entries[0]
    practitioner = people["practitioner"]
    hpr = next(i["value"] for i in practitioner["identifier"] if i["system"].endswith(".4.4"))
    assert (entry["outcome"], entry["actor_hpr"], entry["actor_type"]) == ("permitted", hpr, "practitioner")
    assert entry["actor_org"] and entry["patient_ref"].endswith(f"/Patient/{PATIENT_A}")
    assert log.verify() is None


def test_period_narrows_what_comes_back(launched: requests.Session, vitals_url: str, app_server: LiveServer) -> None:
    whole = launched.get(vitals_url, timeout=60).json()
    week = launched.get(vitals_url, params={"from": "2026-11-13", "to": "2026-11-19"},
                        timeout=60).json()
    rows = week["tables"]["heart_rate"]["rows"]
    assert 0 < len(rows) < len(whole["tables"]["heart_rate"]["rows"])
    assert all(r["time_oslo"][3:10] == "11.2026" and 13 <= int(r["time_oslo"][:2]) <= 19 for r in rows)
    assert week["period"] == {"from": "2026-11-13", "to": "2026-11-19"}


@pytest.mark.parametrize("how", ["query-patient", "query-subject", "query-identifier", "path", "json-body",
                                 "form-body", "header"])
def test_another_patient_is_refused_and_logged_whatever_the_way(
        how: str, launched: requests.Session, vitals_url: str, app_server: LiveServer, log: AccessLog,
        people: dict) -> None:
    fnr_a, fnr_b = _fnr(people["patients"][PATIENT_A]), _fnr(people["patients"][PATIENT_B])
    url = vitals_url
    ask = {
        "query-patient": lambda: launched.get(url, params={"patient": PATIENT_B}),
        "query-subject": lambda: launched.get(url, params={"subject": f"Patient/{PATIENT_B}"}),
        "query-identifier": lambda: launched.get(url, params={"identifier": fnr_b}),
        "path": lambda: launched.get(f"{url}/{PATIENT_B}"),
        "json-body": lambda: launched.get(url, json={"patient": PATIENT_B}),
        "form-body": lambda: launched.get(url, data={"patient_id": PATIENT_B}),
        "header": lambda: launched.get(url, headers={"X-Patient-Id": PATIENT_B}),
    }[how]
    before = len(log.for_patient(fnr_a, patient_ref=f"{app_server.sandbox.url}/fhir/Patient/{PATIENT_A}", limit=1000))  # type: ignore[attr-defined]
    response = ask()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_patient"
    assert PATIENT_B not in response.text and fnr_b not in response.text
    entries = log.for_patient(fnr_a, patient_ref=f"{app_server.sandbox.url}/fhir/Patient/{PATIENT_A}", limit=1000)  # type: ignore[attr-defined]
    assert len(entries) == before + 1 and entries[0]["outcome"] == "refused"


def test_naming_the_own_patient_is_allowed(launched: requests.Session, vitals_url: str, app_server: LiveServer) -> None:
    response = launched.get(vitals_url, params={"patient": PATIENT_A}, timeout=60)
    assert response.status_code == 200 and response.json()["patient"]["id"] == PATIENT_A


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"to": "2026-13-01"}, {"from": "2026-11-10", "to": "2026-11-01"},
                                    {"from": "1900-01-01", "to": "2026-01-01"}])
def test_malformed_period_is_a_clear_400(params: dict, launched: requests.Session, vitals_url: str,
                                         app_server: LiveServer) -> None:
    response = launched.get(vitals_url, params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_parameter" and error["message"]["nb"] and error["message"]["en"]


def test_without_a_launch_the_api_answers_401_json(browser: requests.Session, app_server: LiveServer) -> None:
    response = browser.get(f"{app_server.url}/api/vitals")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_launched"


def test_no_data_when_the_log_cannot_be_written(
        launched: requests.Session, vitals_url: str, app_server: LiveServer, log: AccessLog) -> None:
    with sqlite3.connect(log.path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    try:
        response = launched.get(vitals_url, timeout=60)
    finally:
        with sqlite3.connect(log.path) as conn:
            conn.execute("DROP TRIGGER refuse")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "access_log_unavailable"
    assert "charts" not in body and "tables" not in body and "patient" not in body


def test_openapi_documents_get_vitals(app_server: LiveServer) -> None:
    doc = requests.get(f"{app_server.url}/openapi.json").json()
    operation = doc["paths"]["/api/vitals"]["get"]
    assert operation["operationId"] == "getVitals"
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}
