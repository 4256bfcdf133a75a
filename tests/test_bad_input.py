"""Bad input at the entry points of the app and the sandbox, over real HTTP: each is answered with a clear status
in the form the caller reads (page, JSON or plain text), never a server error, and nothing is stored."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Iterator

import pytest
import requests
from bs4 import BeautifulSoup
from werkzeug.security import generate_password_hash

from tests.citizen_steps import app_pair, base, citizen_launch, clinician_launch, people, person
from tests.servers import LiveServer

PASSWORD = "correct horse battery staple"
ADMIN = ("alice", PASSWORD)
PATIENT = "pas-01"


@pytest.fixture(scope="module")
def pair(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An app + sandbox pair of this module's own (one administrator, alice), so its log entries and
    registrations touch no other test."""
    users = f"alice={generate_password_hash(PASSWORD, method='pbkdf2:sha256:1000')}"
    with app_pair(seeded_instance / "sandbox.sqlite", tmp_path_factory.mktemp("bad-input"), ADMIN_USERS=users) as app:
        yield app


# --- Assets: no session there, so an error cannot be a page with a CSRF token -----------------------------------

@pytest.mark.parametrize("method, path, status", [
    ("GET", "/assets/a/b.js", 404),
    ("GET", "/assets/..%2f..%2fetc%2fpasswd", 404),
    ("GET", "/assets/", 404),
    ("POST", "/assets/vitals.js", 405),
])
def test_a_bad_asset_request_is_a_plain_error_not_a_server_error(pair: LiveServer, method: str, path: str,
                                                                 status: int) -> None:
    response = requests.request(method, pair.url + path, timeout=30)
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Internal Server Error" not in response.text and "Set-Cookie" not in response.headers


# --- Sandbox token endpoint: HTTP Basic credentials that are not UTF-8 --------------------------------------------

@pytest.mark.parametrize("credentials", [b"\xff\xfe:\xff", b"pasientens-maledata:\xff\xfe", b"\xc3(:secret"])
def test_token_endpoint_refuses_basic_credentials_that_are_not_utf8(pair: LiveServer, credentials: bytes) -> None:
    response = requests.post(
        pair.sandbox.url + "/auth/token",  # type: ignore[attr-defined]
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": pair.url + "/callback"},
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()}, timeout=30)
    assert response.status_code == 401, response.text[:300]
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


# --- The citizen's access log filtered at the ends of the calendar ------------------------------------------------

@pytest.fixture(scope="module")
def citizen(pair: LiveServer) -> tuple[requests.Session, str]:
    """The citizen signed in, after a professional has looked at their measurements once."""
    _patients, practitioners = people(pair)
    clinician = person()
    page = clinician_launch(clinician, pair, PATIENT, sorted(practitioners)[0])
    assert clinician.get(base(page) + "api/vitals", timeout=60).status_code == 200
    browser = person()
    return browser, base(citizen_launch(browser, pair, PATIENT))


@pytest.mark.parametrize("query, shown", [
    ({"from": "0001-01-01"}, True),
    ({"to": "9999-12-31"}, True),
    ({"from": "0001-01-01", "to": "9999-12-31"}, True),
    ({"from": "9999-12-31", "to": "9999-12-31"}, False),
    ({"from": "0001-01-01", "to": "0001-01-01"}, False),
])
@pytest.mark.parametrize("where", ["api/access-log", "access-log"])
def test_access_log_filters_at_the_ends_of_the_calendar(citizen: tuple[requests.Session, str], where: str,
                                                        query: dict, shown: bool) -> None:
    browser, prefix = citizen
    response = browser.get(prefix + where, params=query, timeout=60)
    assert response.status_code == 200, response.text[:300]
    if where.startswith("api/"):
        assert bool(response.json()["entries"]) is shown
    else:
        assert bool(BeautifulSoup(response.text, "html.parser").select("ol.log:not(.own) li.entry")) is shown


# --- The clinician's vitals for a period at the end of the calendar ------------------------------------------------

@pytest.mark.parametrize("query, has_data", [
    ({"to": "9999-12-31"}, True),
    ({"from": "9999-12-31"}, False),
])
def test_vitals_for_a_period_at_the_end_of_the_calendar(pair: LiveServer, query: dict, has_data: bool) -> None:
    _patients, practitioners = people(pair)
    browser = person()
    prefix = base(clinician_launch(browser, pair, PATIENT, sorted(practitioners)[0]))
    response = browser.get(prefix + "api/vitals", params=query, timeout=60)
    assert response.status_code == 200, response.text[:300]
    assert bool(response.json()["charts"]) is has_data


# --- Admin: an issuer or frame origin that is not even a URL -------------------------------------------------------

@pytest.mark.parametrize("fields", [
    {"iss": "http://[::1"},
    {"iss": "https://[::1/fhir"},
    {"iss": "https://ehr.example/fhir", "frame_origins": "https://[::1"},
])
def test_admin_refuses_an_address_that_is_not_a_url_and_stores_nothing(pair: LiveServer, fields: dict) -> None:
    admin = person()
    page = admin.get(pair.url + "/admin/", auth=ADMIN, timeout=30)
    token = BeautifulSoup(page.text, "html.parser").select_one('form.add input[name="csrf_token"]')["value"]
    before = [r.issuer for r in pair.app.extensions["smart_client"].registry.all()]
    response = admin.post(pair.url + "/admin/ehrs", auth=ADMIN, timeout=30,
                          data={"client_id": "pmd", "auth": "public", **fields, "csrf_token": token})
    assert response.status_code == 400, response.text[:300]
    result = BeautifulSoup(response.text, "html.parser").select_one("[data-code]")
    assert result is not None and result["data-code"] == "bad_url"
    assert [r.issuer for r in pair.app.extensions["smart_client"].registry.all()] == before
