"""The product's core privacy promises, tried over real HTTP where a reading of the code found them broken:
a citizen only ever sees themself."""
from __future__ import annotations

import pytest
import requests
from bs4 import BeautifulSoup

from tests.fake_ehr import PATIENT_ID
from tests.servers import LiveServer


def _error_code(response: requests.Response) -> str:
    section = BeautifulSoup(response.text, "html.parser").select_one("section.error")
    assert section is not None, response.text[:500]
    return str(section["data-code"])


def _citizen_launch(app: LiveServer, fake_ehr, browser: requests.Session) -> requests.Response:
    """A standalone launch (no `launch` parameter) at the fake EHR."""
    return browser.get(f"{app.url}/launch", params={"iss": fake_ehr.issuer("jwt-rs")})


def test_a_citizen_signed_in_as_themself_gets_their_own_page(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    fake_ehr.behaviour["fhir_user"] = "patient"
    page = _citizen_launch(fake_app_server, fake_ehr, browser)
    assert page.status_code == 200 and "/l/" in page.url
    assert BeautifulSoup(page.text, "html.parser").select_one("#patient").get_text(strip=True) == PATIENT_ID
    assert browser.get(page.url + "access-log").status_code != 403


@pytest.mark.parametrize(("fhir_user", "context_patient"), [
    ("other_patient", PATIENT_ID),  # signed in as Patient/pat-2, the token's patient is pat-1
    ("patient_elsewhere", PATIENT_ID),  # a Patient on another server: cannot be the same record
    ("patient_elsewhere", None),  # no patient in the token: the other server's id must not name one here
])
def test_a_citizen_is_never_launched_for_another_patient(fake_app_server: LiveServer, fake_ehr, browser,
                                                         fhir_user: str, context_patient: str | None) -> None:
    fake_ehr.behaviour["fhir_user"] = fhir_user
    fake_ehr.behaviour["context_patient"] = context_patient
    page = _citizen_launch(fake_app_server, fake_ehr, browser)
    assert page.status_code == 403 and _error_code(page) == "citizen_not_patient"
    assert "/l/" not in page.url and "Ola" not in page.text
    assert fake_ehr.seen(f"/Patient/{PATIENT_ID}") == []  # nothing of the other patient was read


def test_a_block_holds_for_a_professional_whose_role_names_them_by_absolute_url(
        fake_app_server: LiveServer, fake_ehr, browser) -> None:
    """fhirUser is a PractitionerRole whose `practitioner` is an absolute reference on the same server: the HPR
    number is still read, so the session shows it and the patient's block on that number holds."""
    iss = fake_ehr.issuer("jwt-rs")
    patient_ref = f"{iss}/Patient/{PATIENT_ID}"
    fake_ehr.behaviour["fhir_user"] = "role_absolute"
    blocks = fake_app_server.app.extensions["blocks"]
    blocks.place("", patient_ref, "9144889", "Kari Lege")  # the fake EHR's practitioner
    try:
        page = browser.get(f"{fake_app_server.url}/launch", params={"iss": iss, "launch": "x"})
        assert page.status_code == 403 and _error_code(page) == "blocked_by_patient"
        api = browser.get(page.url.split("?")[0] + "api/vitals")
        assert api.status_code == 403 and "charts" not in api.text
        assert fake_ehr.seen("/Observation") == []
    finally:
        blocks.lift("", patient_ref, "9144889")
    page = browser.get(f"{fake_app_server.url}/launch", params={"iss": iss, "launch": "x"})
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#user").get_text(strip=True) == "Kari Lege"
    assert soup.select_one("#hpr").get_text(strip=True) == "9144889"
