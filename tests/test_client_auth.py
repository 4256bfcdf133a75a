"""Client authentication at the token endpoint, as it goes over the wire, and the app's published keys."""
from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from app.secrets_file import ConfigurationError
from smart.client_auth import ASSERTION_TYPE, client_assertion
from smart.keys import FILE_NAME, AppKeys
from smart.registry import Registration
from tests.fake_ehr import CLIENT_ID
from tests.servers import LiveServer


def _token_request(fake_app_server: LiveServer, fake_ehr, browser: requests.Session, ehr: str) -> dict:
    page = browser.get(f"{fake_app_server.url}/launch", params={"iss": fake_ehr.issuer(ehr), "launch": "l1"})
    assert page.status_code == 200, page.text[:1000]
    (token_request,) = fake_ehr.seen("/auth/token")
    return token_request


@pytest.mark.parametrize("ehr, alg", [("jwt-rs", "RS384"), ("jwt-es", "ES384")])
def test_private_key_jwt_assertion_on_the_wire(fake_app_server, fake_ehr, browser, ehr: str, alg: str) -> None:
    form = _token_request(fake_app_server, fake_ehr, browser, ehr)["form"]
    assert form["client_assertion_type"] == ASSERTION_TYPE
    assert "client_secret" not in form
    published = KeySet.import_key_set(browser.get(f"{fake_app_server.url}/.well-known/jwks.json").json())
    token = jwt.decode(form["client_assertion"], published, algorithms=[alg])  # verifies the signature
    assert token.header["alg"] == alg
    assert token.header["kid"] in {k.kid for k in published.keys}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == f"{fake_ehr.url}/{ehr}/auth/token"
    assert 0 < claims["exp"] - time.time() <= 300
    assert len(claims["jti"]) >= 22


def test_each_assertion_has_a_new_jti(fake_app_server, fake_ehr, browser) -> None:
    first = _token_request(fake_app_server, fake_ehr, browser, "jwt-rs")["form"]["client_assertion"]
    fake_ehr.requests.clear()
    second = _token_request(fake_app_server, fake_ehr, browser, "jwt-rs")["form"]["client_assertion"]
    jtis = {jwt.decode(a, KeySet.import_key_set(browser.get(f"{fake_app_server.url}/.well-known/jwks.json").json()),
                       algorithms=["RS384"]).claims["jti"] for a in (first, second)}
    assert len(jtis) == 2


def test_client_secret_basic(fake_app_server, fake_ehr, browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMD_TEST_EHR_SECRET", "s3cret-from-env")
    request = _token_request(fake_app_server, fake_ehr, browser, "basic")
    expected = base64.b64encode(f"{CLIENT_ID}:s3cret-from-env".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    assert "client_assertion" not in request["form"] and "client_secret" not in request["form"]


def test_client_secret_post(fake_app_server, fake_ehr, browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMD_TEST_EHR_SECRET", "s3cret-from-env")
    form = _token_request(fake_app_server, fake_ehr, browser, "post")["form"]
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, "s3cret-from-env")


def test_public_client_sends_only_its_id(fake_app_server, fake_ehr, browser) -> None:
    request = _token_request(fake_app_server, fake_ehr, browser, "public")
    assert request["form"]["client_id"] == CLIENT_ID
    assert "Authorization" not in request["headers"]
    assert not {"client_secret", "client_assertion"} & set(request["form"])


def test_missing_client_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PMD_NOT_SET_SECRET", raising=False)
    registration = Registration("https://ehr.example/fhir", "app", auth_method="client_secret_basic",
                                secret_env="PMD_NOT_SET_SECRET")
    with pytest.raises(ConfigurationError, match="PMD_NOT_SET_SECRET"):
        registration.client_secret()


def test_assertion_lifetime_is_capped_at_five_minutes(tmp_path: Path) -> None:
    keys = AppKeys.load_or_create(tmp_path)
    assertion = client_assertion(keys, alg="ES384", client_id="app", token_url="https://t", lifetime=3600)
    claims = jwt.decode(assertion, keys.signing_key("ES384"), algorithms=["ES384"]).claims
    assert claims["exp"] - claims["iat"] == 300


def test_jwks_publishes_public_keys_only(fake_app_server: LiveServer, browser) -> None:
    response = browser.get(f"{fake_app_server.url}/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert {k["alg"] for k in keys} == {"RS384", "ES384"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig" and key["key_ops"] == ["verify"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_keys_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = AppKeys.load_or_create(tmp_path).public_jwks()
    second = AppKeys.load_or_create(tmp_path).public_jwks()
    assert first == second
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o077 == 0
