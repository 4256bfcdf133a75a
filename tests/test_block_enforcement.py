"""Blocks hold on every path, emergencies included, and fail closed; placing and lifting are all-or-nothing with
their log entry; an HPR number is confirmed by the log or by the EHR, never assumed."""
from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask

from app import blocking, create_app, lookup
from app.access_log import Entry
from smart.context import Launch, Organization, User
from smart.registry import Registration
from tests.conftest import TEST_SECRET
from tests.fake_ehr import PATIENT_ID
from tests.servers import LiveServer

FNR = "05838012345"


def test_an_emergency_launch_of_a_blocked_professional_is_refused(fake_app_server: LiveServer, fake_ehr,
                                                                  browser: requests.Session) -> None:
    """The EHR says `intent=emergency`: the block still holds, on the page and in the API, and the refusal is logged."""
    iss = fake_ehr.issuer("jwt-rs")
    patient_ref = f"{iss}/Patient/{PATIENT_ID}"
    blocks = fake_app_server.app.extensions["blocks"]
    blocks.place("", patient_ref, "9144889", "Kari Lege")  # the fake EHR's practitioner
    fake_ehr.behaviour["intent"] = "emergency"
    try:
        page = browser.get(f"{fake_app_server.url}/launch", params={"iss": iss, "launch": "x"})
        assert page.status_code == 403
        section = BeautifulSoup(page.text, "html.parser").select_one("section.error")
        assert section["data-code"] == "blocked_by_patient"
        assert "Pasienten har sperret din tilgang" in page.text and "The patient has blocked your access" in page.text
        api = browser.get(page.url.split("?")[0] + "api/vitals")
        assert api.status_code == 403 and api.json()["error"]["code"] == "blocked_by_patient"
        assert "charts" not in api.text
        assert fake_ehr.seen("/Observation") == []  # no measurement was even read
        entries = fake_app_server.app.extensions["access_log"].for_patient("", patient_ref, limit=2)
        assert [(e["outcome"], e["reason"], e["basis"]) for e in entries] == [("refused", "blocked", "emergency")] * 2
    finally:
        blocks.lift("", patient_ref, "9144889")


@pytest.fixture()
def app(tmp_path: Path) -> Flask:
    return create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(kind: str = "practitioner", fhir_base: str = "http://ehr.test/fhir") -> Launch:
    registration = Registration(issuer=fhir_base, client_id="pmd", name="Test EHR")
    if kind == "citizen":
        user = User("citizen", "Patient/pas-01", "Ola Pasient", "", "", None)
    else:
        user = User("practitioner", "Practitioner/p1", "Kari Lege", "9144889", "Lege",
                    Organization("Organization/o", "Asker kommune", "974600951"))
    return Launch("pas-01", fhir_base, user, True, None, (), registration, None, "emergency", None, 0)


def test_a_block_store_that_cannot_be_read_refuses_all_data(app: Flask) -> None:
    with sqlite3.connect(app.extensions["blocks"].path) as conn:
        conn.execute("DROP TABLE blocks")
    with app.app_context():
        with pytest.raises(lookup.BlockCheckUnavailable):
            lookup.refuse_if_blocked(_launch(), FNR, what=["8867-4"], period=lookup.Period(None, None))
        entry = app.extensions["access_log"].for_patient(FNR)[0]
        assert (entry["outcome"], entry["reason"]) == ("failed", "blocks-unavailable")


def test_a_citizen_is_never_blocked_from_their_own_data(app: Flask) -> None:
    launch = _launch("citizen")
    app.extensions["blocks"].place(FNR, lookup.patient_ref(launch), "9144889")
    with app.app_context():
        lookup.refuse_if_blocked(launch, FNR, what=[], period=lookup.Period(None, None))


def _refuse_log_writes(app: Flask) -> None:
    with sqlite3.connect(app.extensions["access_log"].path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")


def test_a_block_whose_log_entry_cannot_be_written_is_not_placed(app: Flask) -> None:
    citizen = _launch("citizen")
    me = blocking.me_from(citizen, FNR)
    app.extensions["access_log"].append(Entry(action="lookup", outcome="permitted", patient_ref=me.patient_ref,
                                              patient_identifier=FNR, actor_name="Kari Lege", actor_hpr="9144889"))
    _refuse_log_writes(app)
    with app.test_request_context(), pytest.raises(lookup.LogUnavailable):
        blocking.place(requests.Session(), citizen, me, "9144889")
    assert app.extensions["blocks"].for_patient(FNR, me.patient_ref, include_lifted=True) == []


def test_a_lift_whose_log_entry_cannot_be_written_leaves_the_block(app: Flask) -> None:
    citizen = _launch("citizen")
    me = blocking.me_from(citizen, FNR)
    placed = app.extensions["blocks"].place(FNR, me.patient_ref, "9144889", "Kari Lege")
    _refuse_log_writes(app)
    with app.test_request_context(), pytest.raises(lookup.LogUnavailable):
        blocking.lift(citizen, me, "9144889")
    assert app.extensions["blocks"].blocking(FNR, me.patient_ref, "9144889") == placed


def test_an_hpr_number_the_ehr_cannot_confirm_is_refused_unless_the_log_knows_it(app: Flask) -> None:
    """The EHR's FHIR server is down (a closed port): a number nobody can confirm is not blocked, one that looked the
    citizen up is, under the name the log recorded."""
    citizen = _launch("citizen", fhir_base=f"http://127.0.0.1:{_closed_port()}/fhir")
    me = blocking.me_from(citizen, FNR)
    with app.test_request_context():
        with pytest.raises(blocking.HprNotConfirmed):
            blocking.place(requests.Session(), citizen, me, "9144889")
        app.extensions["access_log"].append(Entry(
            action="lookup", outcome="permitted", patient_ref="http://other-ehr/fhir/Patient/9", patient_identifier=FNR,
            actor_ref="Practitioner/p1", actor_name="Kari Lege", actor_hpr="9144889", issuer="http://other-ehr/fhir"))
        block = blocking.place(requests.Session(), citizen, me, "9144889")
    assert (block.practitioner_name, block.practitioner_ref) == ("Kari Lege", "http://other-ehr/fhir/Practitioner/p1")
    entry = app.extensions["access_log"].for_patient(FNR, me.patient_ref)[0]
    assert (entry["action"], entry["target_hpr"], entry["target_name"]) == ("block", "9144889", "Kari Lege")
