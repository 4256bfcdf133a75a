"""The page around the charts: security headers, no inline scripts, the EHR's style, language, banner."""
from __future__ import annotations

import pytest
import requests
from bs4 import BeautifulSoup

from tests.journeys import ehr_launch
from tests.servers import LiveServer


def _csp(response: requests.Response) -> dict[str, str]:
    parts = [p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";")]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


@pytest.fixture()
def page(browser: requests.Session, app_server: LiveServer) -> requests.Response:
    return ehr_launch(browser, app_server, "pas-03", "prac-02")


def test_page_has_no_inline_script_and_loads_plotly_from_the_app(page: requests.Response) -> None:
    soup = BeautifulSoup(page.text, "html.parser")
    scripts = soup.select("script")
    assert scripts and all(s.get("src") and not s.get_text(strip=True) for s in scripts)
    assert not [t for t in soup.find_all(True) if any(a.startswith("on") for a in t.attrs)]
    plotly = next(s["src"] for s in scripts if "plotly" in s["src"])
    assert plotly.startswith("/assets/plotly.")


def test_assets_are_versioned_and_cached_for_a_year(page: requests.Response, browser: requests.Session,
                                                    app_server: LiveServer) -> None:
    src = next(s["src"] for s in BeautifulSoup(page.text, "html.parser").select("script") if "vitals" in s["src"])
    asset = browser.get(app_server.url + src)
    assert asset.status_code == 200 and "max-age=31536000" in asset.headers["Cache-Control"]
    assert "immutable" in asset.headers["Cache-Control"]
    assert browser.get(app_server.url + "/assets/vitals.0000000000.js").status_code == 404


def test_security_headers_allow_framing_by_the_launching_ehr_only(page: requests.Response,
                                                                  app_server: LiveServer) -> None:
    csp = _csp(page)
    assert csp["frame-ancestors"] == app_server.sandbox.url  # type: ignore[attr-defined]
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'self'"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"  # the page names the patient: never cached
    assert "Strict-Transport-Security" not in page.headers  # plain http on loopback: HSTS only on https


def test_nothing_may_frame_the_app_before_a_launch(app_server: LiveServer) -> None:
    for path in ("/", "/openapi.json", "/launch?iss=https://unknown.example/fhir"):
        response = requests.get(app_server.url + path)
        assert _csp(response)["frame-ancestors"] == "'none'", path


def test_the_ehr_style_becomes_css_variables(page: requests.Response, browser: requests.Session,
                                             app_server: LiveServer) -> None:
    link = BeautifulSoup(page.text, "html.parser").select_one('link[href$="/smart-style.css"]')
    assert link is not None and link["href"] == page.url.removeprefix(app_server.url) + "smart-style.css"
    css = browser.get(app_server.url + link["href"]).text
    assert "--accent: #005b82;" in css and "--ehr-background: #f6f7f9;" in css


def test_norwegian_first_and_english_on_request(page: requests.Response, browser: requests.Session,
                                                app_server: LiveServer) -> None:
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html["lang"] == "nb" and soup.select_one("h1").get_text() == "Vitale målinger"
    switch = soup.select_one(".lang a")
    assert switch["href"] == "?lang=en" and switch.get_text() == "English"
    english = BeautifulSoup(browser.get(page.url + "?lang=en").text, "html.parser")
    assert english.html["lang"] == "en" and english.select_one("h1").get_text() == "Vital signs"
    remembered = BeautifulSoup(browser.get(page.url).text, "html.parser")
    assert remembered.html["lang"] == "en"
    assert [b.get_text() for b in remembered.select("nav.range button")] == ["7 days", "30 days", "90 days",
                                                                           "1 year", "All"]


def test_accept_language_english_gets_english(browser: requests.Session, app_server: LiveServer) -> None:
    browser.headers["Accept-Language"] = "en-GB,en;q=0.9"
    page = ehr_launch(browser, app_server, "pas-03", "prac-02")
    assert BeautifulSoup(page.text, "html.parser").html["lang"] == "en"


def test_banner_is_asked_for_when_the_ehr_does_not_show_one(page: requests.Response, browser: requests.Session,
                                                            app_server: LiveServer) -> None:
    body = browser.get(page.url + "api/vitals").json()
    assert body["need_patient_banner"] is True
    assert body["patient"]["name"] and body["patient"]["birth_date_text"].count(".") == 2
    masked = body["patient"]["fnr_masked"]
    assert len(masked) == 11 and masked[:6].isdigit() and "*" in masked[6:]


def test_an_expired_session_is_told_to_launch_again_inside_the_ehr_frame(
        page: requests.Response, browser: requests.Session, app_server: LiveServer) -> None:
    browser.cookies.clear()
    browser.cookies.set("pmd_session", "expired-long-ago", domain="127.0.0.1", path="/")
    again = browser.get(page.url)
    assert again.status_code == 401 and 'data-code="session_expired"' in again.text
    assert _csp(again)["frame-ancestors"] == app_server.sandbox.url  # type: ignore[attr-defined]
    assert "pas-03" not in again.text


def test_a_forged_handle_gets_no_framing(browser: requests.Session, app_server: LiveServer) -> None:
    browser.cookies.set("pmd_session", "expired-long-ago", domain="127.0.0.1", path="/")
    response = browser.get(f"{app_server.url}/l/{'A' * 32}/")
    assert response.status_code == 401 and _csp(response)["frame-ancestors"] == "'none'"
