"""The sandbox's SMART authorization server over real HTTP: discovery, EHR and standalone launches,
sign-in and consent, and a clear refusal for each bad authorization request."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from tests.oauth_flow import (APP, LAUNCH_URI, REDIRECT, SCOPE, STATE, Flow, People, ehr_launch, lookup,
                              redirected, submit)
from tests.oauth_flow import clients_file, jwks_server, keys, people, smart  # noqa: F401 (fixtures)
from tests.servers import LiveServer


# --- discovery -----------------------------------------------------------------------------------------------


def test_smart_configuration_advertises_endpoints_and_capabilities(smart: LiveServer, http: requests.Session) -> None:
    config = http.get(f"{smart.url}/fhir/.well-known/smart-configuration").json()
    assert config["issuer"] == f"{smart.url}/fhir"
    assert config["authorization_endpoint"] == f"{smart.url}/auth/authorize"
    assert config["token_endpoint"] == f"{smart.url}/auth/token"
    assert config["jwks_uri"] == f"{smart.url}/auth/jwks"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "private_key_jwt"} <= set(config["token_endpoint_auth_methods_supported"])
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    assert {"launch-ehr", "launch-standalone", "client-confidential-asymmetric", "permission-v2",
            "context-passthrough-banner", "permission-offline"} <= set(config["capabilities"])


def test_openid_configuration_points_at_the_jwks(smart: LiveServer, http: requests.Session) -> None:
    config = http.get(f"{smart.url}/fhir/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{smart.url}/fhir"
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    assert "fhirUser" in config["claims_supported"]
    jwks = http.get(config["jwks_uri"]).json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])


# --- launches ------------------------------------------------------------------------------------------------


def test_ehr_launch_gives_a_token_with_patient_context_that_reads_the_patient(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    launch = ehr_launch(http, smart, people)
    answer = redirected(flow.authorize(http, launch=launch))
    assert answer["state"] == STATE
    token = flow.exchange(http, answer["code"]).json()
    assert token["token_type"] == "Bearer"
    assert token["patient"] == people.patient
    assert token["need_patient_banner"] is True
    assert token["smart_style_url"] == f"{smart.url}/smart-style.json"
    assert set(token["scope"].split()) == set(SCOPE.split())
    fhir = http.get(f"{smart.url}/fhir/Patient/{people.patient}",
                    headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/fhir+json"})
    assert fhir.status_code == 200
    assert fhir.json()["id"] == people.patient
    grant = lookup(smart, token["access_token"])
    assert (grant.patient, grant.fhir_user) == (people.patient, f"Practitioner/{people.practitioner}")


def test_launch_from_the_ehr_view_asks_the_app_not_to_draw_a_banner(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    response = http.get(f"{smart.url}/launcher", allow_redirects=False, params={
        "launch_uri": LAUNCH_URI, "patient": people.patient, "provider": people.practitioner,
        "need_patient_banner": "false"})
    launch = parse_qs(urlsplit(response.headers["Location"]).query)["launch"][0]
    flow = Flow(smart)
    token = flow.exchange(http, flow.code(http, launch=launch)).json()
    assert token["need_patient_banner"] is False


def test_a_launch_works_once(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    launch = ehr_launch(http, smart, people)
    flow.code(http, launch=launch)
    again = redirected(flow.authorize(http, launch=launch))
    assert again["error"] == "invalid_request"
    assert again["state"] == STATE


def test_standalone_patient_launch_shows_consent_then_gives_the_patient_their_own_context(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch/patient openid fhirUser patient/*.rs")
    consent = flow.authorize(http, login_hint=f"Patient/{people.patient}")
    assert consent.status_code == 200
    page = BeautifulSoup(consent.text, "html.parser")
    assert [li.code.get_text() for li in page.select("ul.scopes li")] == flow.scope.split()
    assert all(li.select_one(".nb").get_text(strip=True) and li.select_one(".en").get_text(strip=True)
               for li in page.select("ul.scopes li"))
    assert page.select_one("button[value=approve]") and page.select_one("button[value=deny]")
    answer = redirected(submit(http, smart, consent, decision="approve"))
    assert answer["state"] == STATE
    token = flow.exchange(http, answer["code"]).json()
    assert token["patient"] == people.patient
    assert lookup(smart, token["access_token"]).fhir_user == f"Patient/{people.patient}"


def test_practitioner_standalone_launch_picks_the_patient_on_the_consent_page(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch/patient openid fhirUser patient/*.rs")
    consent = flow.authorize(http, login_hint=f"Practitioner/{people.practitioner}")
    options = [o["value"] for o in BeautifulSoup(consent.text, "html.parser").select("select#patient option")]
    assert people.other_patient in options
    answer = redirected(submit(http, smart, consent, decision="approve", patient=people.other_patient))
    assert flow.exchange(http, answer["code"]).json()["patient"] == people.other_patient


def test_sign_in_page_lists_people_and_signs_in_the_chosen_one(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="openid fhirUser user/*.rs")
    signin = flow.authorize(http)
    page = BeautifulSoup(signin.text, "html.parser")
    choices = {i["value"] for i in page.select("input[type=radio][name=user]")}
    assert {f"Patient/{people.patient}", f"Practitioner/{people.practitioner}"} <= choices
    assert all(page.select_one(f"label[for={i['id']}]") for i in page.select("input[type=radio]"))
    consent = submit(http, smart, signin, user=f"Practitioner/{people.practitioner}")
    assert consent.status_code == 200
    answer = redirected(submit(http, smart, consent, decision="approve"))
    token = flow.exchange(http, answer["code"]).json()
    assert "patient" not in token
    assert lookup(smart, token["access_token"]).fhir_user == f"Practitioner/{people.practitioner}"


def test_denying_consent_sends_access_denied_back_with_the_state(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch/patient patient/*.rs")
    consent = flow.authorize(http, login_hint=f"Patient/{people.patient}")
    answer = redirected(submit(http, smart, consent, decision="deny"))
    assert (answer["error"], answer["state"]) == ("access_denied", STATE)
    assert "code" not in answer


def test_consent_without_the_csrf_token_is_refused(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch/patient patient/*.rs")
    consent = flow.authorize(http, login_hint=f"Patient/{people.patient}")
    response = submit(http, smart, consent, decision="approve", csrf_token="forged")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_login_hint_with_prompt_none_skips_consent(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch/patient openid fhirUser patient/*.rs")
    answer = redirected(flow.authorize(http, login_hint=f"Patient/{people.patient}", prompt="none"))
    assert flow.exchange(http, answer["code"]).json()["patient"] == people.patient


def test_scopes_are_narrowed_to_what_the_client_may_have(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="openid profile patient/Observation.rs?category=vital-signs patient/*.cruds system/*.rs")
    answer = redirected(flow.authorize(http, login_hint=f"Patient/{people.patient}", prompt="none"))
    granted = flow.exchange(http, answer["code"]).json()["scope"].split()
    assert granted == ["openid", "patient/Observation.rs?category=vital-signs", "patient/*.rs"]


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [
    {"code_challenge_method": "plain"},
    {"code_challenge_method": None},
    {"code_challenge": None, "code_challenge_method": None},
    {"aud": "http://elsewhere.example/fhir"},
    {"aud": None},
    {"launch": "no-such-launch"},
], ids=["plain PKCE", "no challenge method", "no PKCE", "wrong aud", "no aud", "unknown launch"])
def test_a_bad_authorization_request_goes_back_as_invalid_request(
        smart: LiveServer, http: requests.Session, overrides: dict[str, str | None]) -> None:
    flow = Flow(smart)
    answer = redirected(flow.authorize(http, **{"login_hint": "Patient/x", **overrides}))
    assert answer["error"] == "invalid_request"
    assert answer["state"] == STATE
    assert "code" not in answer


@pytest.mark.parametrize("overrides", [
    {"client_id": "no-such-client"},
    {"client_id": None},
    {"redirect_uri": f"{APP}/elsewhere"},
    {"redirect_uri": REDIRECT + "/"},
    {"redirect_uri": None},
], ids=["unknown client", "no client", "unregistered redirect_uri", "redirect_uri with extra slash", "no redirect_uri"])
def test_an_unverifiable_request_gets_an_error_page_and_no_redirect(
        smart: LiveServer, http: requests.Session, overrides: dict[str, str | None]) -> None:
    response = Flow(smart).authorize(http, **overrides)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert BeautifulSoup(response.text, "html.parser").select_one("[role=alert]")


def test_prompt_none_without_a_user_goes_back_as_login_required(smart: LiveServer, http: requests.Session) -> None:
    answer = redirected(Flow(smart).authorize(http, prompt="none"))
    assert (answer["error"], answer["state"]) == ("login_required", STATE)


def test_an_unknown_login_hint_goes_back_as_invalid_request(smart: LiveServer, http: requests.Session) -> None:
    answer = redirected(Flow(smart).authorize(http, login_hint="Practitioner/nobody"))
    assert answer["error"] == "invalid_request"
