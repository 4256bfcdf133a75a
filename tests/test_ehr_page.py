"""The sandbox's EHR pages over real HTTP: patient and practitioner lists, launch links, the launcher,
the EHR view that frames the app, and the style sheet."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from smart.sandbox import directory
from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from tests.servers import LiveServer

APP_LAUNCH = "http://127.0.0.1:8000/launch"


@pytest.fixture(scope="module")
def people(sandbox: LiveServer) -> tuple[list[directory.Person], list[directory.Person]]:
    """(patients, practitioners) as the sandbox's store has them."""
    db = connect(sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        return directory.patients(store), directory.practitioners(store)
    finally:
        db.conn.close()


def soup(response: requests.Response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_home_lists_every_patient_and_practitioner(sandbox: LiveServer, http: requests.Session, people) -> None:
    patients, practitioners = people
    page = soup(http.get(sandbox.url + "/"))
    assert [row["data-id"] for row in page.select("#patients tr.patient")] == [p.id for p in patients]
    assert [row["data-id"] for row in page.select("#practitioners tr.practitioner")] == [p.id for p in practitioners]
    first = page.select_one("#patients tr.patient")
    assert patients[0].name in first.get_text() and patients[0].identifier in first.get_text()
    hpr_cells = [row.select("td")[1].get_text() for row in page.select("#practitioners tr.practitioner")]
    assert hpr_cells == [p.identifier for p in practitioners]
    assert any(p.organisations for p in practitioners), "practitioners show their organisation"


def test_home_lists_the_registered_apps(sandbox: LiveServer, http: requests.Session) -> None:
    page = soup(http.get(sandbox.url + "/"))
    ids = [row.select("td")[1].get_text() for row in page.select("#apps tr.app")]
    assert "pasientens-maledata" in ids
    assert APP_LAUNCH in page.select_one("#apps").get_text()


def test_launch_links_point_at_the_launcher_for_the_chosen_practitioner(
        sandbox: LiveServer, http: requests.Session, people) -> None:
    patients, practitioners = people
    chosen = practitioners[-1]
    page = soup(http.get(sandbox.url + "/", params={"provider": chosen.id, "app": "pasientens-maledata-public"}))
    assert page.select_one(f"#provider option[value='{chosen.id}']").has_attr("selected")
    links = page.select("#patients a.launch")
    assert len(links) == len(patients)
    for link, patient in zip(links, patients):
        assert urlsplit(link["href"]).path == "/launcher"
        assert query(link["href"]) == {"launch_uri": APP_LAUNCH, "patient": patient.id, "provider": chosen.id}
    ehr_link = page.select_one("#patients a.open-in-ehr")
    assert urlsplit(ehr_link["href"]).path == "/ehr"


def test_home_form_is_a_labelled_get_form(sandbox: LiveServer, http: requests.Session) -> None:
    form = soup(http.get(sandbox.url + "/")).select_one("form.launch-choice")
    assert form["method"] == "get"
    for select in form.select("select"):
        assert form.select_one(f"label[for={select['id']}]")


def test_launcher_sends_the_browser_to_the_app_with_iss_and_launch(
        sandbox: LiveServer, http: requests.Session, people) -> None:
    patients, practitioners = people
    response = http.get(sandbox.url + "/launcher", allow_redirects=False,
                        params={"launch_uri": APP_LAUNCH, "patient": patients[0].id, "provider": practitioners[0].id})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(APP_LAUNCH + "?")
    sent = query(location)
    assert sent["iss"] == sandbox.url + "/fhir"
    assert len(sent["launch"]) >= 20
    again = http.get(sandbox.url + "/launcher", allow_redirects=False,
                     params={"launch_uri": APP_LAUNCH, "patient": patients[0].id, "provider": practitioners[0].id})
    assert query(again.headers["Location"])["launch"] != sent["launch"], "each launch gets its own id"


@pytest.mark.parametrize("path", ["/launcher", "/ehr"])
@pytest.mark.parametrize("bad", [
    {"launch_uri": "http://evil.example/launch"},
    {"launch_uri": APP_LAUNCH + "/"},
    {"launch_uri": None},
    {"patient": "no-such-patient"},
    {"patient": None},
    {"provider": "no-such-practitioner"},
    {"need_patient_banner": "maybe"},
], ids=["unregistered launch_uri", "launch_uri with slash", "no launch_uri", "unknown patient", "no patient",
        "unknown provider", "bad need_patient_banner"])
def test_a_bad_launch_gets_an_error_page_and_no_redirect(
        sandbox: LiveServer, http: requests.Session, people, path: str, bad: dict[str, str | None]) -> None:
    patients, practitioners = people
    params = {"launch_uri": APP_LAUNCH, "patient": patients[0].id, "provider": practitioners[0].id, **bad}
    response = http.get(sandbox.url + path, allow_redirects=False,
                        params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert BeautifulSoup(response.text, "html.parser").select_one("[role=alert]")


def test_ehr_view_shows_the_patient_header_and_frames_the_launcher(
        sandbox: LiveServer, http: requests.Session, people) -> None:
    patients, practitioners = people
    params = {"launch_uri": APP_LAUNCH, "patient": patients[1].id, "provider": practitioners[0].id}
    response = http.get(sandbox.url + "/ehr", params=params)
    page = soup(response)
    assert page.select_one(".ehr-header .patient-name").get_text() == patients[1].name
    assert patients[1].identifier in page.select_one(".ehr-header").get_text()
    frame = page.select_one("iframe.app-frame")
    assert urlsplit(frame["src"]).path == "/launcher"
    assert query(frame["src"]) == {**params, "need_patient_banner": "false"}
    assert frame.get("title")
    assert "http://127.0.0.1:8000" in response.headers["Content-Security-Policy"].split("frame-src")[1]


@pytest.mark.parametrize("path", ["/", "/ehr"])
def test_pages_allow_no_inline_scripts(sandbox: LiveServer, http: requests.Session, people, path: str) -> None:
    patients, practitioners = people
    response = http.get(sandbox.url + path,
                        params={"launch_uri": APP_LAUNCH, "patient": patients[0].id, "provider": practitioners[0].id})
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = soup(response)
    assert not [s for s in page.select("script") if not s.get("src")]
    assert not page.select("[style]")
    assert page.html["lang"] == "nb"


def test_smart_style_is_served(sandbox: LiveServer, http: requests.Session) -> None:
    style = http.get(sandbox.url + "/smart-style.json").json()
    assert style["color_background"].startswith("#")
    assert {"color_text", "font_family_body", "dim_border_radius"} <= set(style)
