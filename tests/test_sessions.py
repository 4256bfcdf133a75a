"""Server-side sessions: opaque cookie with iframe-proof attributes, data in SQLite, expiry, rotation at sign-in."""
from __future__ import annotations

import time
from pathlib import Path

import flask
import pytest
import requests

from app import create_app
from app.db import connect
from app.sessions import COOKIE_NAME, SessionStore, cookie_attributes
from tests.conftest import TEST_SECRET
from tests.servers import LiveServer


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = connect(tmp_path / "app.sqlite")
    sessions = SessionStore(db)
    sessions.ensure_schema()
    yield sessions
    db.conn.close()


def test_session_data_round_trips(store: SessionStore) -> None:
    store.save("sid-1", {"launch": {"patient": "p1"}}, lifetime=60)
    assert store.load("sid-1") == {"launch": {"patient": "p1"}}
    assert store.load("sid-2") is None


def test_expired_session_is_gone(store: SessionStore) -> None:
    store.save("old", {"a": 1}, lifetime=0)
    store.save("fresh", {"b": 2}, lifetime=60)
    assert store.load("old") is None
    assert store.purge_expired() == 1
    assert store.load("fresh") == {"b": 2}


def test_only_a_hash_of_the_session_id_is_stored(store: SessionStore) -> None:
    store.save("the-secret-session-id", {"x": 1}, lifetime=60)
    keys = [row["key"] for row in store.db.query("select key from browser_sessions")]
    assert keys and "the-secret-session-id" not in keys[0] and len(keys[0]) == 64


def test_deleted_session_is_gone(store: SessionStore) -> None:
    store.save("sid", {"x": 1}, lifetime=60)
    store.delete("sid")
    assert store.load("sid") is None


def _set_cookie(response: requests.Response) -> str:
    header = response.headers.get("Set-Cookie", "")
    assert header.startswith(f"{COOKIE_NAME}="), header
    return header


def test_cookie_survives_a_cross_site_iframe(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    response = browser.get(f"{fake_app_server.url}/launch", params={"iss": fake_ehr.issuer("jwt-rs")},
                           allow_redirects=False)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in _set_cookie(response).split(";")}
    assert {"secure", "httponly", "partitioned"} <= set(attributes)
    assert attributes["samesite"] == "SameSite=None"
    assert attributes["path"] == "Path=/"
    value = _set_cookie(response).split(";")[0].split("=", 1)[1]
    assert len(value) >= 43 and "." not in value  # an opaque random id, not signed data


@pytest.mark.parametrize(
    "base, secure",
    [("https://app.example", True), ("http://127.0.0.1:8000", True), ("http://localhost:8000", True),
     ("http://app.internal:8000", False)],
)
def test_cookie_attributes_by_origin(base: str, secure: bool) -> None:
    attributes = cookie_attributes(base)
    assert attributes["secure"] is secure and attributes["partitioned"] is secure and attributes["httponly"]
    assert attributes["samesite"] == ("None" if secure else "Lax")


def test_session_id_changes_at_sign_in(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    browser.get(f"{fake_app_server.url}/launch", params={"iss": fake_ehr.issuer("jwt-rs")}, allow_redirects=False)
    before = browser.cookies.get(COOKIE_NAME)
    page = browser.get(f"{fake_app_server.url}/launch", params={"iss": fake_ehr.issuer("jwt-rs")})
    after = browser.cookies.get(COOKIE_NAME)
    assert before and after and before != after
    with requests.Session() as attacker:
        attacker.get(f"{fake_app_server.url}/")  # no cookie of its own
        response = attacker.get(page.url, headers={"Cookie": f"{COOKIE_NAME}={before}"})
    assert response.status_code == 401 and 'data-code="session_expired"' in response.text


def test_idle_session_expires(fake_app_server: LiveServer, fake_ehr, tmp_path: Path, browser) -> None:
    config = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET, "SESSION_LIFETIME": 1,
              "EHRS_FILE": fake_app_server.app.config["EHRS_FILE"]}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url})) as app:
        page = browser.get(f"{app.url}/launch", params={"iss": fake_ehr.issuer("jwt-rs")})
        assert page.status_code == 200
        time.sleep(1.2)
        response = browser.get(page.url)
    assert response.status_code == 401 and 'data-code="session_expired"' in response.text


def test_a_request_that_only_reads_does_not_undo_what_another_request_wrote(tmp_path: Path) -> None:
    """Two tabs: a slow read (the charts loading) ends after a launch in the other tab stored its state."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET})
    interface = app.session_interface
    with app.test_request_context("/"):
        first = interface.open_session(app, flask.request)
        first["lang"] = "nb"
        interface.save_session(app, first, app.response_class())
    cookie = {"HTTP_COOKIE": f"{COOKIE_NAME}={first.sid}"}
    with app.test_request_context("/api/vitals", environ_base=cookie):
        slow_read = interface.open_session(app, flask.request)
        with app.test_request_context("/launch", environ_base=cookie):
            launch = interface.open_session(app, flask.request)
            launch["pending"] = {"state-1": {"iss": "x"}}
            interface.save_session(app, launch, app.response_class())
        interface.save_session(app, slow_read, app.response_class())
    with app.test_request_context("/callback", environ_base=cookie):
        assert interface.open_session(app, flask.request)["pending"] == {"state-1": {"iss": "x"}}
