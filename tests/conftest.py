"""Shared fixtures: a seeded sandbox instance and the sandbox served over real HTTP."""
from __future__ import annotations

import shutil
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app import create_app
from smart.sandbox import create_sandbox
from tests.fake_ehr import FakeEhr
from tests.pairs import app_pair
from tests.servers import TEST_SECRET, LiveServer

__all__ = ["TEST_SECRET"]


@pytest.fixture(scope="session")
def seeded_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder whose sandbox database was generated once for the whole run."""
    folder = tmp_path_factory.mktemp("seeded")
    create_sandbox({"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET})
    return folder


@pytest.fixture(scope="session")
def sandbox(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sandbox EHR on 127.0.0.1, with its own copy of the seeded data."""
    folder = tmp_path_factory.mktemp("sandbox")
    shutil.copy(seeded_instance / "sandbox.sqlite", folder / "sandbox.sqlite")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET}
    with LiveServer(lambda url: create_sandbox({**config, "SANDBOX_BASE_URL": url})) as server:
        yield server


@pytest.fixture()
def http() -> requests.Session:
    """A fresh HTTP client with its own cookies; pass allow_redirects=False to see each hop."""
    with requests.Session() as session:
        yield session


# --- The app (SMART launch client) -------------------------------------------------------------------------

FAKE_EHRS = {
    "jwt-rs": 'auth_method = "private_key_jwt"\nsigning_alg = "RS384"',
    "jwt-es": 'auth_method = "private_key_jwt"\nsigning_alg = "ES384"',
    "basic": 'auth_method = "client_secret_basic"\nsecret_env = "PMD_TEST_EHR_SECRET"',
    "post": 'auth_method = "client_secret_post"\nsecret_env = "PMD_TEST_EHR_SECRET"',
    "public": 'auth_method = "none"',
    "v1": 'auth_method = "private_key_jwt"',
    "relative": 'auth_method = "private_key_jwt"',
    "nopkce": 'auth_method = "private_key_jwt"',
    "down": 'auth_method = "private_key_jwt"',
}


class LoopbackSecureCookiePolicy(DefaultCookiePolicy):
    """Like a browser: http://127.0.0.1 and localhost count as secure contexts, so `Secure` cookies go back there.

    requests copies the session's cookies into a jar with the default policy for each request, so the `Secure`
    flag of a cookie set by a loopback host is cleared when it is stored (the Set-Cookie header keeps it).
    """

    def set_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        if urlsplit(request.get_full_url()).hostname in {"127.0.0.1", "localhost", "::1"}:
            cookie.secure = False
        return super().set_ok(cookie, request)


@pytest.fixture()
def browser() -> requests.Session:
    """An HTTP client that keeps cookies the way a browser does on loopback (Secure cookies over http)."""
    with requests.Session() as session:
        session.cookies.set_policy(LoopbackSecureCookiePolicy())
        yield session


@pytest.fixture(scope="session")
def app_server(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app on 127.0.0.1 and the sandbox EHR on localhost, each registered with the other.

    `app_server.url` is the app, `app_server.sandbox` the sandbox (its FHIR base: `app_server.sandbox.url + "/fhir"`).
    """
    with app_pair(seeded_instance / "sandbox.sqlite", tmp_path_factory.mktemp("pair")) as app:
        yield app


@pytest.fixture(scope="session")
def fake_ehr_server():
    """A scriptable SMART EHR (tests/fake_ehr.py) on 127.0.0.1 that records every request."""
    fake = FakeEhr()
    with LiveServer(fake.build, host="127.0.0.1") as server:
        server.fake = fake  # type: ignore[attr-defined]
        yield server


@pytest.fixture()
def fake_ehr(fake_ehr_server):  # type: ignore[no-untyped-def]
    """The fake EHR with default behaviour and an empty request log."""
    fake_ehr_server.fake.reset()
    yield fake_ehr_server.fake
    fake_ehr_server.fake.reset()


@pytest.fixture(scope="session")
def fake_app_server(fake_ehr_server, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app registered with the fake EHRs (one per client-authentication method) and nothing else."""
    folder = tmp_path_factory.mktemp("fake-app")
    entries = [
        f'[[ehr]]\nname = "{name}"\nissuer = "{fake_ehr_server.url}/{name}/fhir"\nclient_id = "pasientens-maledata"\n{extra}\n'
        for name, extra in FAKE_EHRS.items()
    ]
    (folder / "ehrs.toml").write_text("\n".join(entries))
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET, "EHRS_FILE": str(folder / "ehrs.toml")}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url}), host="127.0.0.1") as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--test-third-party-cookie-phaseout"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright, third-party cookies blocked as in current browsers."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
