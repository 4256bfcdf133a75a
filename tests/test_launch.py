"""SMART App Launch, app side, over real HTTP: the app on 127.0.0.1 against a scriptable fake EHR
(tests/fake_ehr.py) and against the embedded sandbox EHR."""
from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import flask
import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask

from smart import scopes
from smart.context import current_launch, fhir_session
from smart.discovery import SmartConfiguration
from tests.fake_ehr import CLIENT_ID, PATIENT_ID
from tests.journeys import launch_handle
from tests.servers import LiveServer

V2_SCOPE = (
    "patient/Patient.rs patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category"
    "|vital-signs openid fhirUser launch online_access"
)


def _start(browser: requests.Session, app_url: str, iss: str, launch: str | None = "xyz") -> requests.Response:
    """GET /launch without following: the redirect to the EHR's authorize endpoint."""
    params = {"iss": iss, **({"launch": launch} if launch else {})}
    return browser.get(f"{app_url}/launch", params=params, allow_redirects=False)


def _callback_url(browser: requests.Session, app_url: str, iss: str, launch: str | None = "xyz") -> str:
    """Run the launch up to the EHR's redirect back; the callback URL is returned, not visited."""
    authorize = _start(browser, app_url, iss, launch).headers["Location"]
    return browser.get(authorize, allow_redirects=False).headers["Location"]


def _launch(browser: requests.Session, app_url: str, iss: str, launch: str | None = "xyz") -> requests.Response:
    return browser.get(f"{app_url}/launch", params={"iss": iss, **({"launch": launch} if launch else {})})


def _error_code(response: requests.Response) -> str:
    section = BeautifulSoup(response.text, "html.parser").select_one("section.error")
    assert section is not None, response.text[:500]
    return str(section["data-code"])


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_ehr_launch_shows_patient_and_user(fake_app_server: LiveServer, fake_ehr, browser: requests.Session) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert page.status_code == 200
    launch_handle(page.url, fake_app_server.url)
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#patient").get_text(strip=True) == PATIENT_ID
    assert soup.select_one("#user").get_text(strip=True) == "Kari Lege"
    assert soup.select_one("#hpr").get_text(strip=True) == "9144889"
    assert soup.select_one("#organization").get_text(strip=True) == "Bydel Legekontor"


def test_authorization_request_carries_pkce_state_aud_launch_and_scope(
    fake_app_server: LiveServer, fake_ehr, browser: requests.Session
) -> None:
    iss = fake_ehr.issuer("jwt-rs")
    _launch(browser, fake_app_server.url, iss, launch="launch-123")
    (authorize,) = fake_ehr.seen("/auth/authorize")
    args = authorize["args"]
    assert args["response_type"] == "code"
    assert args["client_id"] == CLIENT_ID
    assert args["redirect_uri"] == fake_app_server.url + "/callback"
    assert args["aud"] == iss
    assert args["launch"] == "launch-123"
    assert args["scope"] == V2_SCOPE
    assert args["code_challenge_method"] == "S256"
    assert len(base64.urlsafe_b64decode(args["state"] + "==")) >= 16  # ≥ 128 bits
    assert args["nonce"]
    (token,) = fake_ehr.seen("/auth/token")
    assert _s256(token["form"]["code_verifier"]) == args["code_challenge"]
    assert token["form"]["redirect_uri"] == fake_app_server.url + "/callback"
    assert token["form"]["grant_type"] == "authorization_code"


def test_standalone_launch_asks_for_launch_patient(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"), launch=None)
    assert page.status_code == 200
    args = fake_ehr.seen("/auth/authorize")[0]["args"]
    assert "launch" not in args
    assert "launch/patient" in args["scope"].split()
    assert "launch" not in args["scope"].split()


def test_server_without_smart_configuration_gets_v1_scopes(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("v1"))
    assert page.status_code == 200
    scope = fake_ehr.seen("/auth/authorize")[0]["args"]["scope"].split()
    assert {"patient/Patient.read", "patient/Observation.read"} <= set(scope)
    assert not [s for s in scope if s.endswith(".rs") or ".rs?" in s]


def test_pkce_is_used_even_when_not_advertised(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    _launch(browser, fake_app_server.url, fake_ehr.issuer("nopkce"))
    args = fake_ehr.seen("/auth/authorize")[0]["args"]
    assert args["code_challenge_method"] == "S256" and args["code_challenge"]


def test_relative_endpoints_are_resolved_against_the_fhir_base(fake_app_server, fake_ehr, browser) -> None:
    location = _start(browser, fake_app_server.url, fake_ehr.issuer("relative")).headers["Location"]
    assert location.startswith(f"{fake_ehr.url}/relative/auth/authorize?")


def test_absolute_fhir_user_is_resolved(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    fake_ehr.behaviour["fhir_user"] = "absolute"
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert BeautifulSoup(page.text, "html.parser").select_one("#hpr").get_text(strip=True) == "9144889"


def test_tokens_never_reach_the_browser(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    issued = fake_ehr.access_tokens | fake_ehr.refresh_tokens
    cookie_values = {c.value for c in browser.cookies}
    assert not issued & cookie_values
    assert not [t for t in issued if t in page.text]


def _counting_server() -> tuple[LiveServer, list[str]]:
    seen: list[str] = []
    app = Flask("counting")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str) -> str:
        seen.append(path)
        return "{}"

    return LiveServer(lambda _url: app), seen


@pytest.mark.parametrize("where", ["other_server", "unregistered_path_on_registered_host"])
def test_unknown_issuer_is_refused_without_a_request(fake_app_server, fake_ehr, browser, where: str) -> None:
    server, seen = _counting_server()
    with server:
        iss = f"{server.url}/fhir" if where == "other_server" else f"{fake_ehr.url}/evil/fhir"
        response = _start(browser, fake_app_server.url, iss)
    assert response.status_code == 400
    assert _error_code(response) == "unknown_iss"
    assert "Ukjent journalsystem" in response.text and "Unknown EHR" in response.text
    assert seen == [] and fake_ehr.requests == []


@pytest.mark.parametrize("query", ["", "?iss=", "?launch=abc", "?iss=%20"])
def test_launch_without_iss_is_refused(fake_app_server: LiveServer, browser, query: str) -> None:
    response = browser.get(f"{fake_app_server.url}/launch{query}", allow_redirects=False)
    assert response.status_code == 400
    assert _error_code(response) == "missing_parameter"


def test_json_clients_get_json_errors(fake_app_server: LiveServer, browser) -> None:
    response = browser.get(f"{fake_app_server.url}/launch", headers={"Accept": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "missing_parameter" and error["message"]["nb"] and error["message"]["en"]


def _with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query="&".join(f"{k}={requests.utils.quote(v)}" for k, v in query.items())).geturl()


@pytest.mark.parametrize(
    "tamper, status, code",
    [
        ({"state": None}, 400, "missing_parameter"),
        ({"state": "forged-state-value"}, 400, "invalid_state"),
        ({"code": None}, 400, "missing_parameter"),
    ],
)
def test_bad_callback_is_refused(fake_app_server, fake_ehr, browser, tamper, status: int, code: str) -> None:
    callback = _with_query(_callback_url(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs")), **tamper)
    response = browser.get(callback, allow_redirects=False)
    assert response.status_code == status
    assert _error_code(response) == code
    assert fake_ehr.seen("/auth/token") == []


def test_state_is_single_use(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    callback = _callback_url(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert browser.get(callback, allow_redirects=False).status_code == 302
    again = browser.get(callback, allow_redirects=False)
    assert again.status_code == 400 and _error_code(again) == "invalid_state"
    assert len(fake_ehr.seen("/auth/token")) == 1


def test_state_is_bound_to_the_browser_session(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    callback = _callback_url(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    with requests.Session() as other_browser:
        response = other_browser.get(callback, allow_redirects=False)
    assert response.status_code == 400 and _error_code(response) == "invalid_state"
    assert fake_ehr.seen("/auth/token") == []


def test_callback_after_session_expired(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    callback = _callback_url(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    browser.cookies.set("pmd_session", "a-session-the-server-no-longer-has", domain="127.0.0.1", path="/")
    response = browser.get(callback, allow_redirects=False)
    assert response.status_code == 401 and _error_code(response) == "session_expired"


@pytest.mark.parametrize(
    "error, description, status",
    [("access_denied", "Brukeren avslo / the user said no", 403), ("invalid_scope", "", 400),
     ("server_error", "database <down>", 400)],
)
def test_authorization_server_error_is_shown_in_its_own_words(
    fake_app_server, fake_ehr, browser, error: str, description: str, status: int
) -> None:
    callback = _callback_url(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    response = browser.get(_with_query(callback, code=None, error=error, error_description=description or None))
    assert response.status_code == status
    assert _error_code(response) == "authorization_error"
    facts = BeautifulSoup(response.text, "html.parser").select_one("dl.facts").get_text(" ", strip=True)
    assert error in facts and description in facts
    assert "<down>" not in response.text or description == ""
    assert fake_ehr.seen("/auth/token") == []


@pytest.mark.parametrize(
    "token_error, shown",
    [
        ((400, {"error": "invalid_grant", "error_description": "code expired"}), "code expired"),
        ((401, {"error": "invalid_client"}), "invalid_client"),
        ((500, "<html>gateway exploded</html>"), "HTTPError"),
        ((200, "not json at all"), ""),
    ],
)
def test_token_endpoint_failure_is_a_clear_page(fake_app_server, fake_ehr, browser, token_error, shown: str) -> None:
    fake_ehr.behaviour["token_error"] = token_error
    response = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert response.status_code == 502
    assert _error_code(response) == "token_error"
    assert shown in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "fault", ["missing", "bad_signature", "wrong_nonce", "wrong_aud", "wrong_iss", "expired", "no_fhir_user"]
)
def test_invalid_id_token_is_refused(fake_app_server: LiveServer, fake_ehr, browser, fault: str) -> None:
    fake_ehr.behaviour["id_token"] = fault
    response = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert response.status_code == 502
    assert _error_code(response) == "invalid_id_token"
    home = BeautifulSoup(browser.get(f"{fake_app_server.url}/", allow_redirects=False).text, "html.parser")
    assert home.select_one("section.start") is not None and home.select_one("#vitals") is None  # no launch kept


def test_unlaunched_visit_gets_the_start_page_with_sign_in_per_registered_ehr(
        app_server: LiveServer, browser) -> None:
    response = browser.get(f"{app_server.url}/")
    soup = BeautifulSoup(response.text, "html.parser")
    assert response.status_code == 200 and soup.select_one("#vitals") is None
    link = soup.select_one(".signin a")["href"]
    assert urlsplit(link).path == "/launch"
    assert parse_qs(urlsplit(link).query) == {"iss": [app_server.sandbox.url + "/fhir"]}
    signin = browser.get(app_server.url + link, allow_redirects=False)
    authorize = urlsplit(signin.headers["Location"])
    assert parse_qs(authorize.query)["scope"][0].split()[0:1] != ["launch"]  # standalone: no EHR launch
    assert "launch/patient" in parse_qs(authorize.query)["scope"][0].split()


def test_a_missing_launch_in_the_path_is_told_to_launch(fake_app_server: LiveServer, browser) -> None:
    response = browser.get(f"{fake_app_server.url}/l/{'A' * 32}/")
    assert response.status_code == 401 and _error_code(response) == "not_launched"


def test_unknown_session_cookie_is_an_expired_session(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    browser.cookies.set("pmd_session", "gone", domain="127.0.0.1", path="/")
    response = browser.get(page.url)
    assert response.status_code == 401 and _error_code(response) == "session_expired"


def _in_request(app: Flask, browser: requests.Session, page: requests.Response, action):  # type: ignore[no-untyped-def]
    """Run `action` inside a request of the browser's session for the launch `page` shows (named by the
    `X-Launch` header, as a script would), then save the session as a response would."""
    cookie = f"pmd_session={browser.cookies.get('pmd_session')}"
    handle = launch_handle(page.url, page.url.split("/l/")[0])  # the page's own app origin
    with app.test_request_context("/", headers={"Cookie": cookie, "X-Launch": handle}):
        result = action()
        app.session_interface.save_session(app, flask.session, flask.Response())
    return result


def test_fhir_session_refreshes_a_token_about_to_expire(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    fake_ehr.behaviour["expires_in"] = 30
    fake_ehr.behaviour["refresh_returns_refresh_token"] = False
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    first_refresh_token = fake_ehr.seen("/auth/token")[0]
    iss = fake_ehr.issuer("jwt-rs")
    # the page itself reads the Patient (to check blocks), so count from here
    tokens_before, reads_before = len(fake_ehr.seen("/auth/token")), len(fake_ehr.seen(f"/Patient/{PATIENT_ID}"))

    def read_patient() -> int:
        return fhir_session().get(f"{iss}/Patient/{PATIENT_ID}").status_code

    assert _in_request(fake_app_server.app, browser, page, read_patient) == 200
    assert _in_request(fake_app_server.app, browser, page, read_patient) == 200
    refreshes = [r for r in fake_ehr.seen("/auth/token")[tokens_before:] if r["form"]["grant_type"] == "refresh_token"]
    assert len(refreshes) == 2
    assert refreshes[0]["form"]["refresh_token"] == refreshes[1]["form"]["refresh_token"]  # old one kept
    assert refreshes[0]["form"]["client_assertion"] and first_refresh_token
    used = [r["headers"]["Authorization"] for r in fake_ehr.seen(f"/Patient/{PATIENT_ID}")[reads_before:]]
    assert len(set(used)) == 2  # each read used the freshly refreshed token


def test_launch_context_for_the_rest_of_the_app(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    launch = _in_request(fake_app_server.app, browser, page, current_launch)
    assert launch.patient_id == PATIENT_ID
    assert launch.fhir_base == fake_ehr.issuer("jwt-rs")
    assert (launch.user.kind, launch.user.reference, launch.user.hpr) == ("practitioner", "Practitioner/prac-1", "9144889")
    assert launch.user.organization and launch.user.organization.orgnr == "974600951"
    assert launch.need_patient_banner is False
    assert launch.smart_style_url == f"{fake_ehr.url}/style.json"
    assert "openid" in launch.granted_scopes
    assert launch.registration.client_id == CLIENT_ID


def test_granted_scope_is_read_from_the_token_response(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    fake_ehr.behaviour["granted_scope"] = "openid fhirUser launch patient/Patient.rs"
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    launch = _in_request(fake_app_server.app, browser, page, current_launch)
    assert launch.granted_scopes == ("openid", "fhirUser", "launch", "patient/Patient.rs")


@pytest.mark.parametrize(
    "capabilities, ehr_launch, expected",
    [
        (frozenset({"permission-v2"}), True, V2_SCOPE),
        (frozenset({"permission-v2"}), False,
         V2_SCOPE.replace(" openid", " patient/Practitioner.rs openid").replace(" launch ", " launch/patient ")),
        (frozenset({"permission-v1"}), True, "patient/Patient.read patient/Observation.read openid fhirUser launch online_access"),
    ],
)
def test_requested_scopes(capabilities: frozenset[str], ehr_launch: bool, expected: str) -> None:
    config = SmartConfiguration("http://x/fhir", "http://x/a", "http://x/t", capabilities=capabilities)
    assert scopes.requested(config, ehr_launch=ehr_launch) == expected


def test_ehr_launch_from_the_sandbox(app_server: LiveServer, browser: requests.Session) -> None:
    """The real thing: the sandbox's launcher, authorization server (private_key_jwt) and FHIR API."""
    from smart.sandbox.store import FhirStore
    from smart.sandbox.db import connect

    db = connect(app_server.sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        patient = store.all("Patient")[0]
        practitioner = store.all("Practitioner")[0]
    finally:
        db.conn.close()
    page = browser.get(
        f"{app_server.sandbox.url}/launcher",
        params={"launch_uri": f"{app_server.url}/launch", "patient": patient["id"], "provider": practitioner["id"]},
    )
    assert page.status_code == 200, page.text[:2000]
    launch_handle(page.url, app_server.url)
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#patient").get_text(strip=True) == patient["id"]
    hpr = [i["value"] for i in practitioner["identifier"] if i["system"] == "urn:oid:2.16.578.1.12.4.1.4.4"][0]
    assert soup.select_one("#hpr").get_text(strip=True) == hpr


def _submit(browser: requests.Session, page: requests.Response, form_selector: str, **values: str) -> requests.Response:
    """Submit an HTML form of the sandbox as a browser would: its hidden fields plus `values`."""
    form = BeautifulSoup(page.text, "html.parser").select_one(form_selector)
    assert form is not None, page.text[:1000]
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data.update(values)
    return browser.post(requests.compat.urljoin(page.url, form["action"]), data=data)


@pytest.mark.parametrize("decision, status", [("approve", 200), ("deny", 403)])
def test_standalone_citizen_launch_with_the_sandbox(app_server: LiveServer, browser, decision: str, status: int) -> None:
    """A citizen opens the app directly, signs in at the sandbox as a Patient and approves (or denies)."""
    from smart.sandbox.db import connect
    from smart.sandbox.store import FhirStore

    db = connect(app_server.sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        patient = FhirStore(db).all("Patient")[1]
    finally:
        db.conn.close()
    signin = browser.get(f"{app_server.url}/launch", params={"iss": f"{app_server.sandbox.url}/fhir"})
    consent = _submit(browser, signin, "form.signin", user=f"Patient/{patient['id']}")
    page = _submit(browser, consent, "form.consent", decision=decision)
    assert page.status_code == status, page.text[:2000]
    soup = BeautifulSoup(page.text, "html.parser")
    if decision == "approve":
        assert soup.select_one("#patient").get_text(strip=True) == patient["id"]
        assert soup.select_one("#user").get_text(strip=True)
    else:
        assert _error_code(page) == "authorization_error" and "access_denied" in page.text


def test_unreadable_user_is_a_clear_page(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    fake_ehr.behaviour["fhir_user"] = "unknown"
    response = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert response.status_code == 502 and _error_code(response) == "user_unknown"


def test_token_is_not_sent_to_a_fhir_user_on_another_server(fake_app_server, fake_ehr, browser) -> None:
    fake_ehr.behaviour["fhir_user"] = "elsewhere"
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    assert page.status_code == 200
    launch = _in_request(fake_app_server.app, browser, page, current_launch)
    assert launch.user.reference == "https://directory.example/fhir/Practitioner/prac-1"
    assert fake_ehr.seen("/Practitioner/prac-1") == []


def test_failed_refresh_means_launch_again(fake_app_server: LiveServer, fake_ehr, browser) -> None:
    from app.errors import SessionExpired

    fake_ehr.behaviour["expires_in"] = 30
    page = _launch(browser, fake_app_server.url, fake_ehr.issuer("jwt-rs"))
    fake_ehr.refresh_tokens.clear()  # the EHR revoked it
    with pytest.raises(SessionExpired):
        _in_request(fake_app_server.app, browser, page, fhir_session)
