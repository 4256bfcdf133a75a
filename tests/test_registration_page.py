"""What the app publishes for EHR vendors: `/registration` as a page and as JSON, and the JWKS with every key
in use."""
from __future__ import annotations

import pytest
import requests
from bs4 import BeautifulSoup

from app import create_app
from smart import scopes
from smart.discovery import SmartConfiguration
from tests.conftest import TEST_SECRET
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def vendor_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app with a name and a contact configured."""
    folder = tmp_path_factory.mktemp("registration-app")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET, "APP_NAME": "PMD Test",
              "CONTACT": "integrasjon@pmd.example"}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url}), host="127.0.0.1") as server:
        yield server


def _expected_scopes(v2: bool, ehr_launch: bool) -> str:
    config = SmartConfiguration("", "", "", capabilities=frozenset({"permission-v2"} if v2 else ()))
    return scopes.requested(config, ehr_launch=ehr_launch)


def test_page_shows_what_the_vendor_registers(vendor_app: LiveServer) -> None:
    response = requests.get(vendor_app.url + "/registration", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    soup = BeautifulSoup(response.text, "html.parser")
    text = {key: soup.select_one(f"#{key}").get_text(" ", strip=True)  # type: ignore[union-attr]
            for key in ("client-name", "launch-uri", "redirect-uri", "jwks-uri", "contact")}
    assert text == {"client-name": "PMD Test", "launch-uri": vendor_app.url + "/launch",
                    "redirect-uri": vendor_app.url + "/callback", "jwks-uri": vendor_app.url + "/.well-known/jwks.json",
                    "contact": "integrasjon@pmd.example"}
    methods = [code.get_text() for code in soup.select("#auth-methods code.method")]
    assert methods == ["private_key_jwt", "client_secret_basic", "client_secret_post", "none"]
    for version, v2 in (("v2", True), ("v1", False)):
        cells = [c.get_text(strip=True) for c in soup.select(f'#scopes tr[data-version="{version}"] td code')]
        assert cells == [_expected_scopes(v2, True), _expected_scopes(v2, False)]
    logo = requests.get(soup.select_one("#logo-uri")["href"], timeout=10)  # type: ignore[index]
    assert logo.status_code == 200 and logo.headers["Content-Type"].startswith("image/svg+xml")
    assert not soup.select("script:not([src])"), "no inline scripts"


@pytest.mark.parametrize("path, accept", [("/registration.json", "text/html"), ("/registration", "application/json")])
def test_json_carries_the_same_facts(vendor_app: LiveServer, path: str, accept: str) -> None:
    response = requests.get(vendor_app.url + path, headers={"Accept": accept}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    doc = response.json()
    assert doc["client_name"] == "PMD Test" and doc["contacts"] == ["integrasjon@pmd.example"]
    assert doc["launch_uri"] == vendor_app.url + "/launch"
    assert doc["redirect_uris"] == [vendor_app.url + "/callback"]
    assert doc["jwks_uri"] == vendor_app.url + "/.well-known/jwks.json"
    assert doc["token_endpoint_auth_method"] == "private_key_jwt"
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert doc["code_challenge_method"] == "S256"
    assert doc["scopes"]["v2"]["ehr_launch"] == _expected_scopes(True, True)
    assert doc["scopes"]["v1"]["standalone_launch"] == _expected_scopes(False, False)
    assert doc["logo_uri"].startswith(vendor_app.url + "/assets/logo.")


def test_contact_says_when_it_is_not_configured(app_server: LiveServer) -> None:
    soup = BeautifulSoup(requests.get(app_server.url + "/registration", timeout=10).text, "html.parser")
    assert "PMD_CONTACT" in soup.select_one("#contact").get_text()  # type: ignore[union-attr]
    assert requests.get(app_server.url + "/registration.json", timeout=10).json()["contacts"] == []


def test_jwks_publishes_every_key_in_use(vendor_app: LiveServer) -> None:
    published = requests.get(vendor_app.url + "/.well-known/jwks.json", timeout=10).json()["keys"]
    in_use = vendor_app.app.extensions["smart_client"].keys.info()
    assert sorted(k["kid"] for k in published) == sorted(k.kid for k in in_use)
    assert {k["alg"] for k in published} == {"RS384", "ES384"}

