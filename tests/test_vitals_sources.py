"""Where measurements are read is a per-EHR setting: the EHR's own FHIR API, or the national store's shape
(POST Observation/_search by fødselsnummer). Paging stops at a cap and says so."""
from __future__ import annotations

from pathlib import Path

import requests

from tests.journeys import ehr_launch
from tests.pairs import app_and_sandbox

NATIONAL = """
[[ehr]]
name = "Sandkasse med nasjonal lagring"
issuer = "{sandbox_base_url}/fhir"
client_id = "pasientens-maledata"
auth_method = "private_key_jwt"
frame_origins = ["{sandbox_base_url}"]
measurements = "national"
store_url = "{sandbox_base_url}/fhir"
"""


def test_national_store_is_searched_by_fodselsnummer_with_post(
        seeded_instance: Path, tmp_path: Path, browser: requests.Session) -> None:
    with app_and_sandbox(seeded_instance, tmp_path, ehrs_toml=NATIONAL) as (app, sandbox, recorder):
        page = ehr_launch(browser, app, "pas-02", "prac-01")
        body = browser.get(page.url + "api/vitals", timeout=60).json()
    assert body["patient"]["id"] == "pas-02" and body["charts"]
    searches = [(m, p, form) for m, p, _, form in recorder.seen if p.startswith("/fhir/Observation")]
    method, path, form = searches[0]
    assert (method, path) == ("POST", "/fhir/Observation/_search")
    assert form["patient.identifier"][0].startswith("urn:oid:2.16.578.1.12.4.1.4.1|")
    assert "patient" not in form
    assert not [s for s in searches if s[0] == "GET" and "patient=" in str(s)]


def test_paging_stops_at_the_cap_and_says_the_answer_is_incomplete(
        seeded_instance: Path, tmp_path: Path, browser: requests.Session) -> None:
    config = {"FHIR_PAGE_SIZE": 10, "FHIR_MAX_PAGES": 3}
    with app_and_sandbox(seeded_instance, tmp_path, app_config=config) as (app, sandbox, recorder):
        page = ehr_launch(browser, app, "pas-01", "prac-01")
        body = browser.get(page.url + "api/vitals", timeout=60).json()
    assert body["complete"] is False and body["observations_read"] == 30
    assert "kortere periode" in body["note"]["nb"] and "shorter period" in body["note"]["en"]
    pages = [s for s in recorder.seen if s[1] == "/fhir/Observation"]
    assert len(pages) == 3


def test_every_page_is_followed_without_a_cap(
        seeded_instance: Path, tmp_path: Path, browser: requests.Session) -> None:
    config = {"FHIR_PAGE_SIZE": 50}
    with app_and_sandbox(seeded_instance, tmp_path, app_config=config) as (app, sandbox, recorder):
        page = ehr_launch(browser, app, "pas-01", "prac-01")
        body = browser.get(page.url + "api/vitals", timeout=60).json()
    pages = [s for s in recorder.seen if s[1] == "/fhir/Observation"]
    assert body["complete"] is True and len(pages) == -(-body["observations_read"] // 50)


ELSEWHERE = NATIONAL.replace('store_url = "{sandbox_base_url}/fhir"', 'store_url = "{store_url}"')


def test_the_ehr_token_never_goes_to_a_store_on_another_origin(
        seeded_instance: Path, tmp_path: Path, browser: requests.Session) -> None:
    from tests.pairs import Recorder
    from tests.servers import LiveServer
    from flask import Flask

    store = Flask("elsewhere")
    recorder = Recorder(store.wsgi_app)
    store.wsgi_app = recorder  # type: ignore[method-assign]
    with LiveServer(lambda url: store) as elsewhere:
        ehrs = ELSEWHERE.replace("{store_url}", elsewhere.url + "/fhir")
        with app_and_sandbox(seeded_instance, tmp_path, ehrs_toml=ehrs) as (app, sandbox, _):
            page = ehr_launch(browser, app, "pas-02", "prac-01")
            response = browser.get(page.url + "api/vitals", timeout=60)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "measurements_unavailable"
    assert recorder.seen == []  # not one request, so no token, reached the other origin
