"""The sandbox's token endpoint over real HTTP: each client authentication method, refused client
assertions, refresh-token rotation, the id_token, and refused codes."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.keys import ASSERTION_TYPE, client_assertion
from tests.oauth_flow import APP, SYMMETRIC_SECRET, Flow, Keys, People, ehr_launch, lookup, serve
from tests.oauth_flow import clients_file, jwks_server, keys, people, smart  # noqa: F401 (fixtures)
from tests.servers import LiveServer


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
    with serve(seeded_instance, folder, clients_file, jwks_server.url, SANDBOX_CODE_LIFETIME=0) as server:
        yield server


def test_an_expired_code_is_refused(hasty: LiveServer, http: requests.Session, people: People) -> None:
    flow = Flow(hasty)
    code = flow.code(http, login_hint=f"Patient/{people.patient}", prompt="none")
    response = flow.exchange(http, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
