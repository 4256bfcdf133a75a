"""One launch per tab: two launches in one browser session never mix their patients.

Each completed launch has its own handle and page (`/l/<handle>/`); the page and its API serve only that
launch's patient, only to the browser session that launched it; unknown, forged, foreign and expired handles
get the 401 pages. Over real HTTP against the sandbox EHR (and the fake EHR for token refresh), plus the
store and the path prefix on their own.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import flask
import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask
from playwright.sync_api import Browser

from app.db import connect
from smart.context import fhir_session
from smart.launches import MAX_PER_OWNER, LaunchPathMiddleware, LaunchStore
from tests.conftest import LoopbackSecureCookiePolicy
from tests.fake_ehr import PATIENT_ID
from tests.journeys import ehr_launch, launch_handle
from tests.servers import LiveServer

PATIENT_A, PATIENT_B, PROVIDER = "pas-03", "pas-04", "prac-01"


def _soup(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _error_code(response: requests.Response) -> str:
    if response.headers["Content-Type"].startswith("application/json"):
        return str(response.json()["error"]["code"])
    section = _soup(response).select_one("section.error")
    assert section is not None, response.text[:500]
    return str(section["data-code"])


def _api_url(page: requests.Response) -> str:
    """getVitals as the page's script calls it: the `data-api` the server rendered, relative to the page."""
    return requests.compat.urljoin(page.url, str(_soup(page).select_one("#vitals")["data-api"]))


@pytest.fixture()
def two_launches(browser: requests.Session, app_server: LiveServer) -> tuple[requests.Response, requests.Response]:
    """Patient A launched first, then patient B, by the same clinician in the same browser session."""
    first = ehr_launch(browser, app_server, PATIENT_A, PROVIDER)
    second = ehr_launch(browser, app_server, PATIENT_B, PROVIDER)
    return first, second


def test_each_launch_has_its_own_unguessable_handle(two_launches, app_server: LiveServer) -> None:
    first, second = (launch_handle(p.url, app_server.url) for p in two_launches)
    assert first != second
    assert len(first) * 6 >= 128 and len(second) * 6 >= 128  # base64url characters carry 6 bits each


def test_each_page_and_api_serve_only_their_own_patient(two_launches, browser: requests.Session) -> None:
    for page, patient in zip(two_launches, (PATIENT_A, PATIENT_B)):
        again = browser.get(page.url)
        assert again.status_code == 200
        assert _soup(again).select_one("#patient").get_text(strip=True) == patient
        body = browser.get(_api_url(again), timeout=60).json()
        assert body["patient"]["id"] == patient


def test_the_first_launch_keeps_working_after_the_second(
        browser: requests.Session, app_server: LiveServer) -> None:
    first = ehr_launch(browser, app_server, PATIENT_A, PROVIDER)
    assert browser.get(_api_url(first), timeout=60).json()["patient"]["id"] == PATIENT_A
    ehr_launch(browser, app_server, PATIENT_B, PROVIDER)
    after = browser.get(_api_url(first), timeout=60)
    assert after.status_code == 200 and after.json()["patient"]["id"] == PATIENT_A
    assert PATIENT_B not in after.text


def test_page_links_and_style_stay_under_the_launch(two_launches) -> None:
    page = two_launches[0]
    prefix = "/l/" + page.url.rstrip("/").rsplit("/", 1)[-1]
    soup = _soup(page)
    assert soup.select_one("#vitals")["data-api"].startswith(prefix + "/api/vitals?")
    assert soup.select_one("header .product a")["href"] == prefix + "/"


def test_the_x_launch_header_names_the_launch_for_scripts(
        two_launches, browser: requests.Session, app_server: LiveServer) -> None:
    handle = launch_handle(two_launches[0].url, app_server.url)
    response = browser.get(f"{app_server.url}/api/vitals", headers={"X-Launch": handle}, timeout=60)
    assert response.status_code == 200 and response.json()["patient"]["id"] == PATIENT_A


@pytest.mark.parametrize("path", ["/api/vitals", "/smart-style.css"])
def test_without_a_handle_nothing_is_served_even_after_launches(
        two_launches, browser: requests.Session, app_server: LiveServer, path: str) -> None:
    response = browser.get(app_server.url + path)
    assert response.status_code == 401 and _error_code(response) == "not_launched"
    assert PATIENT_A not in response.text and PATIENT_B not in response.text


def test_without_a_handle_the_root_is_the_start_page_with_no_patient(
        two_launches, browser: requests.Session, app_server: LiveServer) -> None:
    response = browser.get(app_server.url + "/")
    soup = BeautifulSoup(response.text, "html.parser")
    assert response.status_code == 200 and soup.select_one("section.start") is not None
    assert soup.select_one("#vitals") is None
    assert PATIENT_A not in response.text and PATIENT_B not in response.text


@pytest.fixture()
def other_browser() -> requests.Session:
    """A second browser, with a session of its own."""
    with requests.Session() as session:
        session.cookies.set_policy(LoopbackSecureCookiePolicy())
        yield session


@pytest.mark.parametrize("path", ["", "api/vitals"])
def test_a_handle_from_another_browser_session_is_useless(
        two_launches, other_browser: requests.Session, app_server: LiveServer, path: str) -> None:
    ehr_launch(other_browser, app_server, PATIENT_B, PROVIDER)  # a live session, with a launch of its own
    response = other_browser.get(two_launches[0].url + path)
    headered = other_browser.get(f"{app_server.url}/{path}",
                                 headers={"X-Launch": launch_handle(two_launches[0].url, app_server.url)})
    for answer in (response, headered):
        assert answer.status_code == 401 and _error_code(answer) == "not_launched"
        assert PATIENT_A not in answer.text


@pytest.mark.parametrize("handle", [
    "A" * 32, "x", "not-a-handle-at-all", "a" * 129, "%2e%2e", "..", "<script>", "pas-03",
])
def test_a_forged_handle_is_refused(two_launches, browser: requests.Session, app_server: LiveServer,
                                    handle: str) -> None:
    for response in (browser.get(f"{app_server.url}/l/{handle}/"),
                     browser.get(f"{app_server.url}/l/{handle}/api/vitals"),
                     browser.get(f"{app_server.url}/api/vitals", headers={"X-Launch": handle})):
        assert PATIENT_A not in response.text and PATIENT_B not in response.text
        if response.url == f"{app_server.url}/":  # `/l/../` is `/` once the client resolves the dot segment
            assert BeautifulSoup(response.text, "html.parser").select_one("section.start") is not None
            continue
        assert response.status_code == 401 and _error_code(response) == "not_launched"
        assert "<script>" not in response.text


def test_the_handle_is_not_a_patient_selector(two_launches, browser: requests.Session, app_server: LiveServer) -> None:
    """The API's wrong-patient check still sees every named patient; the handle names a launch, not a patient."""
    response = browser.get(_api_url(two_launches[0]), params={"patient": PATIENT_B}, timeout=60)
    assert response.status_code == 403 and _error_code(response) == "wrong_patient"


def _expire(app: Flask, handle: str) -> None:
    with sqlite3.connect(app.config["APP_DB_PATH"]) as conn:
        conn.execute("update launches set expires_at = ? where key = ?",
                     [time.time() - 1, hashlib.sha256(handle.encode()).hexdigest()])


def test_an_expired_launch_is_the_session_expired_page(
        two_launches, browser: requests.Session, app_server: LiveServer) -> None:
    first, second = two_launches
    _expire(app_server.app, launch_handle(first.url, app_server.url))
    page = browser.get(first.url)
    assert page.status_code == 401 and _error_code(page) == "session_expired"
    sandbox_origin = app_server.sandbox.url  # type: ignore[attr-defined]
    assert f"frame-ancestors {sandbox_origin}" in page.headers["Content-Security-Policy"]
    api = browser.get(_api_url(first))
    assert api.status_code == 401 and _error_code(api) == "session_expired"
    assert browser.get(second.url).status_code == 200


def test_frame_ancestors_follow_the_requests_launch(two_launches, browser, app_server: LiveServer) -> None:
    framed = browser.get(two_launches[0].url).headers["Content-Security-Policy"]
    assert f"frame-ancestors {app_server.sandbox.url}" in framed  # type: ignore[attr-defined]
    bare = browser.get(f"{app_server.url}/").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in bare


def test_a_handle_without_its_trailing_slash_is_redirected_to_it(two_launches, browser, app_server) -> None:
    bare = two_launches[0].url.rstrip("/")
    response = browser.get(bare + "?lang=en", allow_redirects=False)
    assert response.status_code == 308
    assert response.headers["Location"] == bare.removeprefix(app_server.url) + "/?lang=en"


def _in_launch(app: Flask, browser: requests.Session, handle: str, action):  # type: ignore[no-untyped-def]
    """Run `action` in a request of the browser's session that names `handle`, and save as a response would."""
    cookie = f"pmd_session={browser.cookies.get('pmd_session')}"
    with app.test_request_context("/", headers={"Cookie": cookie, "X-Launch": handle}):
        result = action()
        app.session_interface.save_session(app, flask.session, flask.Response())
    return result


def test_a_refreshed_token_is_written_back_to_its_own_launch(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    iss = fake_ehr.issuer("jwt-rs")
    fake_ehr.behaviour["expires_in"] = 30  # launch A's token is about to expire
    first = launch_handle(browser.get(f"{fake_app_server.url}/launch", params={"iss": iss, "launch": "a"}).url,
                          fake_app_server.url)
    fake_ehr.behaviour["expires_in"] = 3600
    second = launch_handle(browser.get(f"{fake_app_server.url}/launch", params={"iss": iss, "launch": "b"}).url,
                           fake_app_server.url)
    tokens_before = len(fake_ehr.seen("/auth/token"))  # the pages themselves read the Patient (block check)

    def read() -> str:
        http = fhir_session()
        http.get(f"{iss}/Patient/{PATIENT_ID}")
        return str(http.headers["Authorization"])

    a1 = _in_launch(fake_app_server.app, browser, first, read)
    a2 = _in_launch(fake_app_server.app, browser, first, read)
    b1 = _in_launch(fake_app_server.app, browser, second, read)
    refreshes = [r for r in fake_ehr.seen("/auth/token")[tokens_before:] if r["form"]["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1, "A's refreshed token was stored with A and used again"
    assert a1 == a2 and a1 != b1
    assert refreshes[0]["form"]["refresh_token"] in fake_ehr.refresh_tokens


@pytest.fixture()
def store(tmp_path: Path) -> LaunchStore:
    db = connect(tmp_path / "app.sqlite")
    launches = LaunchStore(db)
    launches.ensure_schema()
    yield launches
    db.conn.close()


def test_a_session_keeps_a_bounded_number_of_launches_oldest_first_out(store: LaunchStore) -> None:
    handles = [store.add("owner-1", {"n": n}, lifetime=60) for n in range(MAX_PER_OWNER + 2)]
    other = store.add("owner-2", {"n": "other"}, lifetime=60)
    assert store.count("owner-1") == MAX_PER_OWNER
    assert store.get("owner-1", handles[0]) is None and store.get("owner-1", handles[1]) is None
    assert store.get("owner-1", handles[-1]).data == {"n": MAX_PER_OWNER + 1}
    assert store.get("owner-1", other) is None and store.get("owner-2", other).data == {"n": "other"}


def test_a_launch_expires_and_use_slides_its_expiry(store: LaunchStore) -> None:
    handle = store.add("owner", {}, lifetime=0)
    assert store.get("owner", handle).expired
    live = store.add("owner", {}, lifetime=10)
    store.touch(store.get("owner", live), lifetime=3600)
    assert store.get("owner", live).expires_at > time.time() + 3000


def test_the_path_prefix_moves_into_script_name() -> None:
    app = Flask("probe")

    @app.get("/<path:rest>")
    @app.get("/", defaults={"rest": ""})
    def probe(rest: str) -> dict:
        request = flask.request
        return {"rest": rest, "root": request.script_root, "handle": request.environ.get("pmd.launch_handle")}

    app.wsgi_app = LaunchPathMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/l/abc/api/vitals").json == {"rest": "api/vitals", "root": "/l/abc", "handle": "abc"}
    assert client.get("/l/abc/").json == {"rest": "", "root": "/l/abc", "handle": "abc"}
    assert client.get("/api/vitals").json == {"rest": "api/vitals", "root": "", "handle": None}


def test_two_ehr_tabs_in_chromium_each_keep_their_patient(chromium: Browser, app_server: LiveServer) -> None:
    """Two tabs of the sandbox EHR in one browser share the app's (partitioned) cookie; each keeps its patient."""
    context = chromium.new_context()
    try:
        tabs = []
        for patient in (PATIENT_A, PATIENT_B):
            tab = context.new_page()
            tab.goto(f"{app_server.sandbox.url}/ehr?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
                     f"&patient={patient}&provider={PROVIDER}")
            frame = tab.frame_locator("iframe")
            assert frame.locator("#patient").text_content(timeout=15000) == patient
            frame.locator("#vitals[data-state='ready']").wait_for(timeout=30000)
            tabs.append(tab)
        first = next(f for f in tabs[0].frames if f.url.startswith(app_server.url))
        asked = first.evaluate("""() => fetch(document.getElementById('vitals').dataset.api,
            {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(r => r.json())""")
        assert asked["patient"]["id"] == PATIENT_A
        first.goto(first.url)
        assert first.locator("#patient").text_content(timeout=15000) == PATIENT_A
    finally:
        context.close()
