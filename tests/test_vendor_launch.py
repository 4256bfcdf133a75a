"""An EHR vendor registers a second EHR while the app runs: the embedded sandbox (EHR A, pre-registered in
config/ehrs.toml) and a second sandbox on another port (EHR B, its own client id, `private_key_jwt` against the
app's JWKS URL), registered through `pmd ehr add` in another process and launched from without a restart.
Key rotation between launches, and `frame-ancestors` per launching EHR, in HTTP and in Chromium."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask
from playwright.sync_api import Browser

from app import create_app
from app.cli import main
from app.settings import ROOT
from smart.keys import FILE_NAME
from smart.sandbox import create_sandbox
from tests.conftest import TEST_SECRET, LoopbackSecureCookiePolicy
from tests.journeys import ehr_launch, sandbox_people
from tests.servers import LiveServer

CLIENT_B = "pmd-site-b"
CLIENTS_B = """
[[client]]
client_id = "pmd-site-b"
name = "Pasientens måledata (site B)"
auth_method = "private_key_jwt"
jwks_uri = "{app_base_url}/.well-known/jwks.json"
redirect_uris = ["{app_base_url}/callback"]
launch_uri = "{app_base_url}/launch"
scope = "launch launch/patient openid fhirUser online_access patient/*.rs user/*.rs patient/*.read user/*.read"
"""


@dataclass
class Ehrs:
    app: LiveServer
    a: LiveServer
    b: LiveServer
    instance: Path

    def via(self, ehr: LiveServer) -> SimpleNamespace:
        """What `ehr_launch` needs: the app's URL and the EHR that launches it."""
        return SimpleNamespace(url=self.app.url, sandbox=ehr)

    def pmd(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`pmd …` in another process, on the running app's instance folder."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PMD_")}
        environ.update(PMD_INSTANCE_PATH=str(self.instance), PMD_ENV="development", PMD_SANDBOX_BASE_URL=self.a.url,
                       **env)
        return subprocess.run([sys.executable, "-m", "app.cli", *argv], env=environ, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def ehrs(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 with its own instance folder; EHR A and EHR B on localhost, each on its own port."""
    app_folder = tmp_path_factory.mktemp("vendor-app")
    folders = {name: tmp_path_factory.mktemp(f"vendor-ehr-{name}") for name in "ab"}
    for folder in folders.values():
        shutil.copy(seeded_instance / "sandbox.sqlite", folder / "sandbox.sqlite")
    (folders["b"] / "clients.toml").write_text(CLIENTS_B)
    servers: dict[str, LiveServer] = {}

    def build_app(app_url: str):  # type: ignore[no-untyped-def]
        for name, folder in folders.items():
            config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET, "APP_BASE_URL": app_url}
            if name == "b":
                config["SANDBOX_CLIENTS_FILE"] = str(folder / "clients.toml")
            servers[name] = LiveServer(lambda url, c=config: create_sandbox({**c, "SANDBOX_BASE_URL": url}),
                                       host="127.0.0.1", public_host="localhost")
        return create_app({"INSTANCE_PATH": str(app_folder), "SECRET_KEY": TEST_SECRET, "APP_BASE_URL": app_url,
                           "SANDBOX_BASE_URL": servers["a"].url})

    with LiveServer(build_app, host="127.0.0.1") as app, servers["a"] as a, servers["b"] as b:
        yield Ehrs(app, a, b, app_folder)


@pytest.fixture(scope="module")
def people(ehrs: Ehrs) -> tuple[str, str]:
    """A patient with measurements and a practitioner, the same in both EHRs (same seed)."""
    patients, practitioners = sandbox_people(ehrs.a)
    return patients[0]["id"], practitioners[0]["id"]


def _browser() -> requests.Session:
    session = requests.Session()
    session.cookies.set_policy(LoopbackSecureCookiePolicy())
    return session


def _launch(ehrs: Ehrs, ehr: LiveServer, people: tuple[str, str]) -> requests.Response:
    with _browser() as browser:
        page = ehr_launch(browser, ehrs.via(ehr), *people)  # type: ignore[arg-type]
        api = browser.get(page.url + "api/vitals", timeout=60)
        assert api.status_code == 200, api.text[:300]
        return page


def _frame_ancestors(response: requests.Response) -> str:
    directives = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    return directives["frame-ancestors"]


def _launch_from_b_is_refused(ehrs: Ehrs, people: tuple[str, str]) -> None:
    with _browser() as browser:
        response = browser.get(f"{ehrs.b.url}/launcher", params={
            "launch_uri": f"{ehrs.app.url}/launch", "patient": people[0], "provider": people[1]}, timeout=60)
    assert response.status_code == 400 and response.url.startswith(ehrs.app.url + "/launch?")
    assert BeautifulSoup(response.text, "html.parser").select_one("section.error")["data-code"] == "unknown_iss"


def test_second_ehr_registered_by_the_cli_launches_without_restart(ehrs: Ehrs, people: tuple[str, str]) -> None:
    iss_b = ehrs.b.url + "/fhir"
    _launch_from_b_is_refused(ehrs, people)
    added = ehrs.pmd("ehr", "add", "--iss", iss_b, "--client-id", CLIENT_B, "--auth", "private_key_jwt",
                     "--frame-origin", ehrs.b.url, "--name", "EHR B")
    assert added.returncode == 0, added.stderr
    assert f"Registered issuer {iss_b}" in added.stdout and "PKCE S256: yes" in added.stdout
    try:
        page_b = _launch(ehrs, ehrs.b, people)
        assert _frame_ancestors(page_b) == ehrs.b.url
        page_a = _launch(ehrs, ehrs.a, people)
        assert _frame_ancestors(page_a) == ehrs.a.url
        listed = json.loads(ehrs.pmd("ehr", "list", "--json").stdout)
        assert {(r["issuer"], r["source"]) for r in listed} == {(ehrs.a.url + "/fhir", "config"), (iss_b, "stored")}
    finally:
        removed = ehrs.pmd("ehr", "remove", iss_b)
    assert removed.returncode == 0, removed.stderr
    _launch_from_b_is_refused(ehrs, people)
    _launch(ehrs, ehrs.a, people)


def test_key_rotation_between_two_launches(ehrs: Ehrs, people: tuple[str, str]) -> None:
    _launch(ehrs, ehrs.a, people)
    before = {k["kid"] for k in requests.get(ehrs.app.url + "/.well-known/jwks.json", timeout=10).json()["keys"]}
    sandbox_client = ehrs.a.app.extensions["sandbox_clients"]["pasientens-maledata"]
    assert {k.kid for k in sandbox_client.public_keys()} == before  # the EHR cached our JWKS at the first launch
    rotated = ehrs.pmd("keys", "rotate", PMD_KEY_GRACE_SECONDS="3")
    assert rotated.returncode == 0, rotated.stderr
    during = {k["kid"] for k in requests.get(ehrs.app.url + "/.well-known/jwks.json", timeout=10).json()["keys"]}
    new = during - before
    assert before < during and len(new) == 2
    signing = ehrs.app.app.extensions["smart_client"].keys.signing_key("RS384").kid
    assert signing in new, "the running app signs with the key the other process made"

    _launch(ehrs, ehrs.a, people)
    assert signing in {k.kid for k in sandbox_client.public_keys()}, "the EHR fetched our JWKS for the new kid"

    until = max(info["published_until"] or 0 for info in
                json.loads((ehrs.instance / FILE_NAME).read_text())["rotation"].values())
    time.sleep(max(0.0, until - time.time()) + 0.1)
    after = {k["kid"] for k in requests.get(ehrs.app.url + "/.well-known/jwks.json", timeout=10).json()["keys"]}
    assert after == new
    _launch(ehrs, ehrs.a, people)


def test_frame_ancestors_are_those_of_the_launching_ehr(ehrs: Ehrs, people: tuple[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMD_INSTANCE_PATH", str(ehrs.instance))
    monkeypatch.setenv("PMD_SANDBOX_BASE_URL", ehrs.a.url)
    iss_b = ehrs.b.url + "/fhir"
    assert main(["ehr", "add", "--iss", iss_b, "--client-id", CLIENT_B, "--auth", "private_key_jwt",
                 "--frame-origin", ehrs.b.url, "--frame-origin", "https://ehr-b.example"]) == 0
    try:
        assert _frame_ancestors(_launch(ehrs, ehrs.b, people)) == f"{ehrs.b.url} https://ehr-b.example"
        assert _frame_ancestors(_launch(ehrs, ehrs.a, people)) == ehrs.a.url
        unregistered = requests.get(ehrs.app.url + "/launch", params={"iss": "https://elsewhere.example/fhir"}, timeout=10)
        assert unregistered.status_code == 400 and _frame_ancestors(unregistered) == "'none'"
        for path in ("/registration", "/", "/.well-known/jwks.json"):
            assert _frame_ancestors(requests.get(ehrs.app.url + path, timeout=10)) == "'none'", path
    finally:
        assert main(["ehr", "remove", iss_b]) == 0


def _stranger(frame_src: str) -> LiveServer:
    """A page on another loopback origin (registered for no EHR) that frames `frame_src`."""
    def build(_url: str) -> Flask:
        site = Flask("stranger")
        site.add_url_rule("/ehr.html", "ehr", lambda: f'<!doctype html><title>x</title><iframe src="{frame_src}"></iframe>')
        return site

    return LiveServer(build, host="127.0.0.1", public_host="localhost")


def test_only_the_registered_origin_can_frame_the_app(ehrs: Ehrs, people: tuple[str, str], chromium: Browser,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMD_INSTANCE_PATH", str(ehrs.instance))
    monkeypatch.setenv("PMD_SANDBOX_BASE_URL", ehrs.a.url)
    iss_b = ehrs.b.url + "/fhir"
    assert main(["ehr", "add", "--iss", iss_b, "--client-id", CLIENT_B, "--auth", "private_key_jwt",
                 "--frame-origin", ehrs.b.url]) == 0
    query = f"launch_uri={ehrs.app.url}/launch&patient={people[0]}&provider={people[1]}"
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{ehrs.b.url}/ehr?{query}")
        assert page.frame_locator("iframe").locator("#patient").text_content(timeout=20000) == people[0]

        messages: list[str] = []
        page.on("console", lambda message: messages.append(message.text))
        with _stranger(f"{ehrs.b.url}/launcher?{query}") as stranger:
            page.goto(f"{stranger.url}/ehr.html")
            deadline = time.time() + 20
            while not any("frame-ancestors" in text for text in messages) and time.time() < deadline:
                page.wait_for_timeout(100)
        assert any("frame-ancestors" in text and ehrs.b.url in text for text in messages), messages
        assert page.frame_locator("iframe").locator("#patient").count() == 0
    finally:
        context.close()
        assert main(["ehr", "remove", iss_b]) == 0
