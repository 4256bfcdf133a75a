"""Fixtures and helpers for driving the sandbox's SMART authorization server over real HTTP: test clients
(public, shared secret, private_key_jwt RS384 inline and ES384 from a JWKS server), and one authorization
request at a time (`Flow`). Test modules import the fixtures they use from here."""
from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask, jsonify

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


def serve(seeded: Path, folder: Path, clients_file: Path, jwks_url: str, **extra: Any) -> LiveServer:
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
    with serve(seeded_instance, tmp_path_factory.mktemp("smart"), clients_file, jwks_server.url) as server:
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
