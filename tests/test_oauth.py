"""The sandbox's SMART authorization server over real HTTP: launches, client authentication, tokens,
refresh, id_tokens, and a clear refusal for each bad input."""
from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import KeySet

from smart.sandbox import create_sandbox, directory
from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from smart.sandbox.tokens import TokenStore
from tests.conftest import TEST_SECRET
from tests.keys import ASSERTION_TYPE, client_assertion, ec_key, pkce_pair, public_jwks, rsa_key
from tests.servers import LiveServer

APP = "http://127.0.0.1:9"
REDIRECT = f"{APP}/callback"
LAUNCH_URI = f"{APP}/launch"
SCOPE = "launch openid fhirUser offline_access patient/*.rs user/*.rs"
SYMMETRIC_SECRET = "test-only-symmetric-secret"
STATE = "st4te with spaces & ümlauts/?="


class Keys:
    """The test clients' key pairs, and a stranger's key that claims the RS384 client's kid."""

    def __init__(self) -> None:
        self.rs384 = rsa_key("rs384-test")
        self.es384 = ec_key("es384-test")
        self.stranger = rsa_key("rs384-test")


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def jwks_server(keys: Keys) -> Iterator[LiveServer]:
    """A tiny app publishing the ES384 test client's public keys, as a real app would."""
    def build(_url: str) -> Flask:
        app = Flask("jwks")
        app.add_url_rule("/jwks.json", "jwks", lambda: jsonify(public_jwks(keys.es384)))
        return app
    with LiveServer(build) as server:
        yield server


def _clients_toml(keys: Keys) -> str:
    rsa = public_jwks(keys.rs384)["keys"][0]
    inline = ", ".join(f'{k} = "{v}"' for k, v in rsa.items())
    common = f'redirect_uris = ["{REDIRECT}"]\nlaunch_uri = "{LAUNCH_URI}"\nscope = "{SCOPE} launch/patient online_access"\n'
    return (
        f'[[client]]\nclient_id = "test-public"\nname = "Test public"\nauth_method = "none"\n{common}'
        f'[[client]]\nclient_id = "test-symmetric"\nname = "Test symmetric"\nauth_method = "client_secret_basic"\n'
        f'secret_env = "PMD_TEST_UNSET_SECRET_VARIABLE"\ndev_secret = "{SYMMETRIC_SECRET}"\n{common}'
        f'[[client]]\nclient_id = "test-rs384"\nname = "Test RS384"\nauth_method = "private_key_jwt"\n'
        f'jwks = {{ keys = [ {{ {inline} }} ] }}\n{common}'
        f'[[client]]\nclient_id = "test-es384"\nname = "Test ES384"\nauth_method = "private_key_jwt"\n'
        f'jwks_uri = "{{app_base_url}}/jwks.json"\n{common}'
    )


def _serve(seeded: Path, folder: Path, clients_file: Path, jwks_url: str, **extra: Any) -> LiveServer:
    shutil.copy(seeded / "sandbox.sqlite", folder / "sandbox.sqlite")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET, "SANDBOX_CLIENTS_FILE": str(clients_file),
              "APP_BASE_URL": jwks_url, **extra}
    return LiveServer(lambda url: create_sandbox({**config, "SANDBOX_BASE_URL": url}))


@pytest.fixture(scope="module")
def clients_file(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clients") / "clients.toml"
    path.write_text(_clients_toml(keys))
    return path


@pytest.fixture(scope="module")
def smart(seeded_instance: Path, clients_file: Path, jwks_server: LiveServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The sandbox with the test clients registered."""
    with _serve(seeded_instance, tmp_path_factory.mktemp("smart"), clients_file, jwks_server.url) as server:
        yield server


@dataclass(frozen=True)
class People:
    patient: str
    other_patient: str
    practitioner: str


@pytest.fixture(scope="module")
def people(smart: LiveServer) -> People:
    db = connect(smart.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        patients, practitioners = directory.patients(store), directory.practitioners(store)
    finally:
        db.conn.close()
    return People(patients[0].id, patients[1].id, practitioners[0].id)


@dataclass
class Flow:
    """One authorization request's parameters, with what the test must remember (PKCE verifier, nonce)."""

    server: LiveServer
    client_id: str = "test-public"
    scope: str = SCOPE
    extra: dict[str, str] = field(default_factory=dict)
    verifier: str = ""
    challenge: str = ""
    nonce: str = ""

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()
        self.nonce = secrets.token_urlsafe(12)

    @property
    def token_url(self) -> str:
        return f"{self.server.url}/auth/token"

    def params(self, **overrides: str | None) -> dict[str, str]:
        base = {"response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT, "scope": self.scope,
                "state": STATE, "aud": f"{self.server.url}/fhir", "code_challenge": self.challenge,
                "code_challenge_method": "S256", "nonce": self.nonce, **self.extra}
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def authorize(self, http: requests.Session, **overrides: str | None) -> requests.Response:
        return http.get(f"{self.server.url}/auth/authorize", params=self.params(**overrides), allow_redirects=False)

    def code(self, http: requests.Session, **overrides: str | None) -> str:
        response = self.authorize(http, **overrides)
        return redirected(response)["code"]

    def token_form(self, issued: str, **overrides: str | None) -> dict[str, str]:
        form = {"grant_type": "authorization_code", "code": issued, "redirect_uri": REDIRECT,
                "code_verifier": self.verifier, "client_id": self.client_id}
        form.update(overrides)
        return {k: v for k, v in form.items() if v is not None}

    def exchange(self, http: requests.Session, issued: str, keys: Keys | None = None,
                 **overrides: str | None) -> requests.Response:
        return post_token(http, self, self.token_form(issued, **overrides), keys)


def post_token(http: requests.Session, flow: Flow, form: dict[str, str], keys: Keys | None) -> requests.Response:
    """POST to the token endpoint, authenticating as the flow's client does."""
    auth = None
    if flow.client_id == "test-symmetric":
        auth = ("test-symmetric", SYMMETRIC_SECRET)
    elif flow.client_id in ("test-rs384", "test-es384") and keys is not None:
        key = keys.rs384 if flow.client_id == "test-rs384" else keys.es384
        form = {**form, "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(key, flow.client_id, flow.token_url)}
    return http.post(flow.token_url, data=form, auth=auth)


def redirected(response: requests.Response) -> dict[str, str]:
    """The query parameters of a redirect to the test redirect URI (asserting it is one)."""
    assert response.status_code == 302, response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def ehr_launch(http: requests.Session, server: LiveServer, people: People) -> str:
    response = http.get(f"{server.url}/launcher", allow_redirects=False,
                        params={"launch_uri": LAUNCH_URI, "patient": people.patient, "provider": people.practitioner})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["launch"][0]


def lookup(server: LiveServer, access_token: str) -> Any:
    db = connect(server.app.config["SANDBOX_DB_PATH"])
    try:
        return TokenStore(db).lookup(access_token)
    finally:
        db.conn.close()


def submit(http: requests.Session, server: LiveServer, page: requests.Response, **fields: str) -> requests.Response:
    """Post the page's form with its hidden fields plus `fields`, as a browser would."""
    form = BeautifulSoup(page.text, "html.parser").select_one("form[method=post]")
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data.update(fields)
    return http.post(server.url + form["action"], data=data, allow_redirects=False)


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


# --- client authentication -----------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ["test-public", "test-symmetric", "test-rs384", "test-es384"])
def test_each_client_authentication_method_gets_a_token(
        smart: LiveServer, http: requests.Session, people: People, keys: Keys, client_id: str) -> None:
    flow = Flow(smart, client_id=client_id)
    code = flow.code(http, launch=ehr_launch(http, smart, people))
    response = flow.exchange(http, code, keys)
    assert response.status_code == 200, response.text
    assert lookup(smart, response.json()["access_token"]).client_id == client_id


def test_a_confidential_client_without_credentials_is_refused(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, client_id="test-symmetric")
    code = flow.code(http, launch=ehr_launch(http, smart, people))
    response = http.post(flow.token_url, data=flow.token_form(code), auth=("test-symmetric", "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def _assertion_cases(keys: Keys, token_url: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "wrong aud": client_assertion(keys.rs384, "test-rs384", token_url + "/other"),
        "expired": client_assertion(keys.rs384, "test-rs384", token_url, exp=now - 300, iat=now - 600),
        "exp too far ahead": client_assertion(keys.rs384, "test-rs384", token_url, exp=now + 3600),
        "bad signature": client_assertion(keys.stranger, "test-rs384", token_url),
        "RS256 instead of RS384": client_assertion(keys.rs384, "test-rs384", token_url, alg="RS256"),
        "iss differs from sub": client_assertion(keys.rs384, "test-rs384", token_url, iss="someone-else"),
        "no jti": client_assertion(keys.rs384, "test-rs384", token_url, jti=None),
        "unknown kid": client_assertion(keys.rs384, "test-rs384", token_url, header={"kid": "nobody"}),
        "unknown client": client_assertion(keys.rs384, "test-nobody", token_url),
        "not a JWT": "not-a-jwt",
    }


@pytest.mark.parametrize("case", ["wrong aud", "expired", "exp too far ahead", "bad signature", "RS256 instead of RS384",
                                  "iss differs from sub", "no jti", "unknown kid", "unknown client", "not a JWT"])
def test_a_bad_client_assertion_is_refused(
        smart: LiveServer, http: requests.Session, people: People, keys: Keys, case: str) -> None:
    flow = Flow(smart, client_id="test-rs384")
    code = flow.code(http, launch=ehr_launch(http, smart, people))
    form = {**flow.token_form(code, client_id=None), "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion_cases(keys, flow.token_url)[case]}
    response = http.post(flow.token_url, data=form)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


def test_a_replayed_client_assertion_is_refused(smart: LiveServer, http: requests.Session, people: People, keys: Keys) -> None:
    assertion = client_assertion(keys.es384, "test-es384", f"{smart.url}/auth/token")
    answers = []
    for _ in range(2):
        flow = Flow(smart, client_id="test-es384")
        code = flow.code(http, launch=ehr_launch(http, smart, people))
        form = {**flow.token_form(code), "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        answers.append(http.post(flow.token_url, data=form))
    assert answers[0].status_code == 200
    assert answers[1].json()["error"] == "invalid_client"


# --- tokens: refresh and id_token ----------------------------------------------------------------------------


def test_refresh_gives_a_working_token_and_retires_the_old_refresh_token(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    first = flow.exchange(http, flow.code(http, launch=ehr_launch(http, smart, people))).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "test-public"}
    second = http.post(flow.token_url, data=refresh).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["patient"] == people.patient
    assert lookup(smart, second["access_token"]).patient == people.patient
    replay = http.post(flow.token_url, data=refresh)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert lookup(smart, second["access_token"]) is None, "reusing a retired refresh token revokes the grant"


def test_another_client_cannot_use_a_refresh_token(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    first = flow.exchange(http, flow.code(http, launch=ehr_launch(http, smart, people))).json()
    stolen = http.post(flow.token_url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                       auth=("test-symmetric", SYMMETRIC_SECRET))
    assert stolen.json()["error"] == "invalid_grant"
    own = http.post(flow.token_url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                          "client_id": "test-public"})
    assert own.status_code == 200


def test_no_refresh_token_without_offline_or_online_access(
        smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart, scope="launch patient/*.rs")
    token = flow.exchange(http, flow.code(http, launch=ehr_launch(http, smart, people))).json()
    assert "refresh_token" not in token
    assert "id_token" not in token


def test_id_token_verifies_against_the_published_keys(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    token = flow.exchange(http, flow.code(http, launch=ehr_launch(http, smart, people))).json()
    config = http.get(f"{smart.url}/fhir/.well-known/openid-configuration").json()
    keyset = KeySet.import_key_set(http.get(config["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keyset, algorithms=["RS256"]).claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": f"{smart.url}/fhir"},
                          aud={"essential": True, "value": "test-public"},
                          nonce={"essential": True, "value": flow.nonce}).validate(claims)
    assert claims["fhirUser"] == f"{smart.url}/fhir/Practitioner/{people.practitioner}"
    assert claims["exp"] > claims["iat"] >= time.time() - 60


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


@pytest.mark.parametrize("overrides, error", [
    ({"code_verifier": "x" * 64}, "invalid_grant"),
    ({"code_verifier": None}, "invalid_request"),
    ({"redirect_uri": f"{APP}/elsewhere"}, "invalid_grant"),
    ({"code": "no-such-code"}, "invalid_grant"),
], ids=["wrong verifier", "no verifier", "other redirect_uri", "unknown code"])
def test_a_bad_token_request_is_refused(smart: LiveServer, http: requests.Session, people: People,
                                        overrides: dict[str, str | None], error: str) -> None:
    flow = Flow(smart)
    code = flow.code(http, launch=ehr_launch(http, smart, people))
    response = flow.exchange(http, code, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_a_reused_code_is_refused_and_revokes_its_tokens(smart: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(smart)
    code = flow.code(http, launch=ehr_launch(http, smart, people))
    first = flow.exchange(http, code).json()
    assert lookup(smart, first["access_token"]) is not None
    second = flow.exchange(http, code)
    assert second.json()["error"] == "invalid_grant"
    assert lookup(smart, first["access_token"]) is None


@pytest.fixture(scope="module")
def hasty(seeded_instance: Path, clients_file: Path, jwks_server: LiveServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A sandbox whose codes expire the moment they are issued."""
    folder = tmp_path_factory.mktemp("hasty")
    with _serve(seeded_instance, folder, clients_file, jwks_server.url, SANDBOX_CODE_LIFETIME=0) as server:
        yield server


def test_an_expired_code_is_refused(hasty: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(hasty)
    code = flow.code(http, login_hint=f"Patient/{people.patient}", prompt="none")
    response = flow.exchange(http, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
