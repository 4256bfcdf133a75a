"""The admin page: closed without configured credentials, HTTP Basic, CSRF on every change, registrations that
take effect for the next launch, key rotation, and a log of who changed what."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from werkzeug.security import generate_password_hash

from app import create_app
from app.admin_auth import parse_users, verify
from app.cli import main
from app.secrets_file import ConfigurationError
from tests.conftest import TEST_SECRET
from tests.fake_ehr import CLIENT_ID
from tests.servers import LiveServer

PASSWORD = "correct horse battery staple"
ALICE = ("alice", PASSWORD)
FAST_HASH = "pbkdf2:sha256:1000"  # tests only: production hashes come from `pmd admin hash-password` (scrypt)


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app with one administrator, alice, and nothing but the sandbox registered."""
    folder = tmp_path_factory.mktemp("admin-app")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET,
              "ADMIN_USERS": f"alice={generate_password_hash(PASSWORD, method=FAST_HASH)}"}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url}), host="127.0.0.1") as server:
        yield server


def _soup(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _code(response: requests.Response) -> str:
    node = _soup(response).select_one("section.error") or _soup(response).select_one("#result")
    assert node is not None, response.text[:500]
    return str(node["data-code"])


def _token(browser: requests.Session, url: str) -> str:
    page = browser.get(url + "/admin/", auth=ALICE, timeout=10)
    assert page.status_code == 200
    return str(_soup(page).select_one('form.add input[name="csrf_token"]')["value"])  # type: ignore[index]


def _stored(app: LiveServer) -> list[str]:
    return [r.issuer for r in app.app.extensions["smart_client"].registry.stored.all()]


def _kids(app: LiveServer) -> set[str]:
    return {k["kid"] for k in requests.get(app.url + "/.well-known/jwks.json", timeout=10).json()["keys"]}


@pytest.mark.parametrize("method, path", [("GET", "/admin/"), ("POST", "/admin/ehrs"), ("POST", "/admin/keys/rotate")])
def test_admin_is_closed_without_configured_credentials(app_server: LiveServer, method: str, path: str) -> None:
    response = requests.request(method, app_server.url + path, auth=ALICE, timeout=10)
    assert response.status_code == 403 and _code(response) == "admin_disabled"
    assert "PMD_ADMIN_USERS" in response.text


@pytest.mark.parametrize("auth", [None, ("alice", "wrong password"), ("mallory", PASSWORD), ("", "")])
def test_admin_asks_for_credentials(admin_app: LiveServer, auth: tuple[str, str] | None) -> None:
    response = requests.get(admin_app.url + "/admin/", auth=auth, timeout=10)
    assert response.status_code == 401 and _code(response) == "admin_auth_required"
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "registrations" not in response.text


def test_change_without_credentials_is_refused(admin_app: LiveServer, browser: requests.Session, fake_ehr) -> None:  # type: ignore[no-untyped-def]
    token = _token(browser, admin_app.url)
    before = _kids(admin_app)
    for path, form in (("/admin/ehrs", {"iss": fake_ehr.issuer("jwt-rs"), "client_id": CLIENT_ID,
                                         "auth": "private_key_jwt"}), ("/admin/keys/rotate", {})):
        response = browser.post(admin_app.url + path, data={**form, "csrf_token": token}, timeout=10)
        assert response.status_code == 401, path
    assert _stored(admin_app) == [] and _kids(admin_app) == before
    assert fake_ehr.requests == []


@pytest.mark.parametrize("token", [None, "forged-token"])
@pytest.mark.parametrize("path", ["/admin/ehrs", "/admin/ehrs/remove", "/admin/keys/rotate"])
def test_change_without_csrf_token_is_refused(admin_app: LiveServer, browser: requests.Session, fake_ehr,  # type: ignore[no-untyped-def]
                                              path: str, token: str | None) -> None:
    _token(browser, admin_app.url)  # the session has a token; the request does not carry it
    before = _kids(admin_app)
    form = {"iss": fake_ehr.issuer("jwt-rs"), "client_id": CLIENT_ID, "auth": "private_key_jwt", "issuer": "x"}
    if token:
        form["csrf_token"] = token
    response = browser.post(admin_app.url + path, data=form, auth=ALICE, timeout=10)
    assert response.status_code == 400 and _code(response) == "csrf_failed"
    assert _stored(admin_app) == [] and _kids(admin_app) == before
    assert fake_ehr.requests == []


def test_form_fields_have_labels(admin_app: LiveServer, browser: requests.Session) -> None:
    soup = _soup(browser.get(admin_app.url + "/admin/", auth=ALICE, timeout=10))
    fields = soup.select("form.add input:not([type=hidden]), form.add select, form.add textarea")
    assert fields
    for field in fields:
        assert soup.select_one(f'label[for="{field["id"]}"]') is not None, field


def test_admin_registers_an_ehr_that_launches_at_once_and_logs_who(admin_app: LiveServer, browser: requests.Session,  # type: ignore[no-untyped-def]
                                                                   fake_ehr) -> None:
    iss = fake_ehr.issuer("jwt-rs")
    form = {"iss": iss, "client_id": CLIENT_ID, "auth": "private_key_jwt", "frame_origins": "https://ehr.example\n",
            "measurements": "ehr", "signing_alg": "RS384", "csrf_token": _token(browser, admin_app.url)}
    added = browser.post(admin_app.url + "/admin/ehrs", data=form, auth=ALICE, timeout=10)
    assert added.status_code == 201 and _code(added) == "added"
    assert "PKCE S256: yes" in _soup(added).select_one("#result").get_text()  # type: ignore[union-attr]
    row = _soup(added).select_one(f'#registrations tr[data-issuer="{iss}"]')
    assert row is not None and row["data-source"] == "stored"
    try:
        launched = browser.get(admin_app.url + "/launch", params={"iss": iss, "launch": "xyz"}, timeout=30)
        assert launched.status_code == 200 and "/l/" in launched.url
        assert "frame-ancestors https://ehr.example" in launched.headers["Content-Security-Policy"]
    finally:
        token = str(_soup(added).select_one('form.remove input[name="csrf_token"]')["value"])  # type: ignore[index]
        removed = browser.post(admin_app.url + "/admin/ehrs/remove", data={"issuer": iss, "csrf_token": token},
                               auth=ALICE, timeout=10)
    assert removed.status_code == 200 and _code(removed) == "removed"
    refused = browser.get(admin_app.url + "/launch", params={"iss": iss, "launch": "xyz"}, timeout=10)
    assert refused.status_code == 400 and _code(refused) == "unknown_iss"
    changes = [[td.get_text(strip=True) for td in tr.select("td")] for tr in _soup(removed).select("#changes tbody tr")]
    assert [c[1:] for c in changes[:2]] == [["admin:alice", "ehr.remove", iss], ["admin:alice", "ehr.add", iss]]


@pytest.mark.parametrize("ehr, form, code, status", [
    ("nopkce", {}, "no_s256", 400),
    ("v1", {}, "no_smart_configuration", 400),
    ("jwt-rs", {"auth": "magic"}, "unknown_auth_method", 400),
    ("jwt-rs", {"auth": "client_secret", "secret_env": "not a name"}, "bad_secret_env", 400),
    ("jwt-rs", {"frame_origins": "https://*.example"}, "bad_frame_origin", 400),
])
def test_admin_shows_why_a_registration_is_refused(admin_app: LiveServer, browser: requests.Session, fake_ehr,  # type: ignore[no-untyped-def]
                                                   ehr: str, form: dict[str, str], code: str, status: int) -> None:
    data = {"iss": fake_ehr.issuer(ehr), "client_id": CLIENT_ID, "auth": "private_key_jwt",
            "csrf_token": _token(browser, admin_app.url), **form}
    response = browser.post(admin_app.url + "/admin/ehrs", data=data, auth=ALICE, timeout=10)
    assert response.status_code == status and _code(response) == code
    assert _soup(response).select_one("#iss")["value"] == data["iss"]  # type: ignore[index]
    assert _stored(admin_app) == []


def test_admin_refuses_a_duplicate_of_a_preregistered_ehr(admin_app: LiveServer, browser: requests.Session) -> None:
    data = {"iss": admin_app.app.config["SANDBOX_BASE_URL"] + "/fhir", "client_id": "x", "auth": "private_key_jwt",
            "csrf_token": _token(browser, admin_app.url)}
    response = browser.post(admin_app.url + "/admin/ehrs", data=data, auth=ALICE, timeout=10)
    assert response.status_code == 409 and _code(response) == "duplicate"


def test_admin_rotates_the_keys(admin_app: LiveServer, browser: requests.Session) -> None:
    before = _kids(admin_app)
    response = browser.post(admin_app.url + "/admin/keys/rotate", data={"csrf_token": _token(browser, admin_app.url)},
                            auth=ALICE, timeout=10)
    assert response.status_code == 200 and _code(response) == "rotated"
    after = _kids(admin_app)
    assert before < after and len(after - before) == 2
    signing = {tr["data-kid"] for tr in _soup(response).select("#keys tbody tr") if "signerer" in tr.get_text()}
    assert signing == after - before
    first = _soup(response).select_one("#changes tbody tr").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert "admin:alice" in first and "keys.rotate" in first


@pytest.mark.parametrize("value", ["alice=hunter2hunter2", "alice", "=scrypt:1$2$3", "bad name=scrypt:1$2$3"])
def test_a_password_in_admin_users_stops_the_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="PMD_ADMIN_USERS"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET, "ADMIN_USERS": value})


def test_hash_password_makes_a_working_entry(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["admin", "hash-password", "bob"]) == 0
    entry = capsys.readouterr().out.strip()
    assert PASSWORD not in entry
    users = parse_users(entry)
    assert verify(users, "bob", PASSWORD) and not verify(users, "bob", "wrong") and not verify(users, "eve", PASSWORD)


def test_hash_password_refuses_a_short_password(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "hash-password", "bob"]) == 1
    assert "at least" in capsys.readouterr().err
