"""The citizen's access log and blocks over real HTTP (app + sandbox pair of their own): what the citizen reads,
paging and filters, nobody else's entries by any parameter, professionals kept out, and every bad input answered
clearly with nothing changed."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
from bs4 import BeautifulSoup
from fhirclient.models.bundle import Bundle

from app.access_log import AccessLog, Entry
from tests.citizen_steps import (FNR_SYSTEM, HPR_SYSTEM, base, citizen_launch, citizen_pair, clinician_launch,  # noqa: F401
                                 csrf, identifier, people, person, submit)
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def cast(citizen_pair: LiveServer) -> dict:
    patients, practitioners = people(citizen_pair)
    return {"patients": patients, "practitioners": practitioners}


def _log(pair: LiveServer) -> AccessLog:
    return pair.app.extensions["access_log"]


def _signed_in(pair: LiveServer, patient: str) -> tuple[requests.Session, str, str]:
    """A citizen's browser, the launch's URL prefix and the page's CSRF token."""
    browser = person()
    page = citizen_launch(browser, pair, patient)
    return browser, base(page), csrf(page)


def _blocks(browser: requests.Session, prefix: str) -> list[dict]:
    response = browser.get(prefix + "api/blocks")
    assert response.status_code == 200, response.text
    return response.json()["blocks"]


def _error(response: requests.Response) -> str:
    if response.headers["Content-Type"].startswith("application/json"):
        return response.json()["error"]["code"]
    soup = BeautifulSoup(response.text, "html.parser")
    found = soup.select_one("#form-error") or soup.select_one("section.error")
    assert found is not None, response.text[:800]
    return str(found["data-code"])


# --- the log -----------------------------------------------------------------------------------------------

def test_a_professionals_lookup_is_shown_with_who_what_where_and_why(citizen_pair: LiveServer, cast: dict) -> None:
    doctor = cast["practitioners"]["prac-04"]
    clinician = person()
    page = clinician_launch(clinician, citizen_pair, "pas-04", "prac-04")
    assert clinician.get(base(page) + "api/vitals", params={"from": "2026-01-01"}, timeout=60).status_code == 200
    browser, prefix, _ = _signed_in(citizen_pair, "pas-04")
    entry = browser.get(prefix + "api/access-log").json()["entries"][0]
    assert entry["action"] == "lookup" and entry["outcome"] == "permitted" and entry["basis"] == "care-relationship"
    assert entry["actor"]["hpr"] == identifier(doctor, HPR_SYSTEM) and entry["actor"]["type"] == "practitioner"
    assert entry["actor"]["name"] and entry["actor"]["organisation"] and entry["actor"]["role"]
    assert "8867-4" in entry["what"]["codes"] and entry["what"]["period"] == {"from": "2026-01-01", "to": None}
    assert entry["system"]["name"].startswith("SMART-sandkasse")
    assert entry["words"]["nb"]["summary"].endswith("så målingene dine.")
    assert "Puls" in entry["words"]["nb"]["what"] and "Heart rate" in entry["words"]["en"]["what"]
    html = BeautifulSoup(browser.get(prefix + "access-log").text, "html.parser")
    first = html.select_one("#others li.entry")
    fields = {dd["data-field"]: dd.get_text(strip=True) for dd in first.select("dd")}
    assert identifier(doctor, HPR_SYSTEM) in fields["who"] and entry["actor"]["name"] in fields["who"]
    assert fields["organisation"] == entry["actor"]["organisation"]
    assert fields["basis"].startswith("Behandlingsrelasjon") and fields["outcome"] == "Vist"
    assert " kl. " in fields["when"] and "01.01.2026–…" in fields["what"]
    assert first.select_one("form.block-this input[name=hpr]")["value"] == identifier(doctor, HPR_SYSTEM)


def test_the_citizens_own_views_are_listed_apart(citizen_pair: LiveServer) -> None:
    browser, prefix, _ = _signed_in(citizen_pair, "pas-08")
    assert browser.get(prefix + "api/vitals", timeout=60).status_code == 200
    own = browser.get(prefix + "api/access-log", params={"section": "own"}).json()["entries"]
    others = browser.get(prefix + "api/access-log").json()["entries"]
    assert own[0]["action"] == "view-log" and own[1]["action"] == "lookup"  # newest first: the log view, the lookup
    assert {e["actor"]["type"] for e in own} == {"citizen"} and own[1]["basis"] == "own-data"
    assert all(e["actor"]["type"] != "citizen" or e["action"] in ("block", "unblock") for e in others)
    html = BeautifulSoup(browser.get(prefix + "access-log").text, "html.parser")
    assert html.select("#own li.entry") and not html.select("#own form.block-this")
    assert html.select_one("#others .status-empty") is not None


def test_pages_follow_on_and_filters_narrow(citizen_pair: LiveServer, cast: dict) -> None:
    fnr = identifier(cast["patients"]["pas-09"], FNR_SYSTEM)
    ref = f"{citizen_pair.sandbox.url}/fhir/Patient/pas-09"  # type: ignore[attr-defined]
    for day in range(1, 31):
        _log(citizen_pair).append(
            Entry(action="lookup", outcome="permitted", patient_ref=ref, patient_identifier=fnr, actor_name="Test Lege",
                  actor_hpr="1111111" if day % 2 else "2222222", what=["8867-4"]),
            now=datetime(2025, 6, day, 10, tzinfo=timezone.utc))
    browser, prefix, _ = _signed_in(citizen_pair, "pas-09")
    seen, url = [], prefix + "api/access-log?limit=12"
    while url:
        page = browser.get(requests.compat.urljoin(prefix, url)).json()
        seen += [e["id"] for e in page["entries"]]
        url = page["next"]
    assert len(seen) == 30 and seen == sorted(seen, reverse=True)
    june = browser.get(prefix + "api/access-log", params={"from": "2025-06-10", "to": "2025-06-12"}).json()["entries"]
    assert [e["at"][:10] for e in june] == ["2025-06-12", "2025-06-11", "2025-06-10"]
    one = browser.get(prefix + "api/access-log", params={"hpr": "2222222", "limit": 100}).json()["entries"]
    assert len(one) == 15 and {e["actor"]["hpr"] for e in one} == {"2222222"}
    html = BeautifulSoup(browser.get(prefix + "access-log", params={"hpr": "1111111"}).text, "html.parser")
    assert len(html.select("#others li.entry")) == 15 and html.select_one("a.older") is None
    html = BeautifulSoup(browser.get(prefix + "access-log").text, "html.parser")
    assert len(html.select("#others li.entry")) == 25
    older = BeautifulSoup(browser.get(requests.compat.urljoin(prefix, html.select_one("a.older")["href"])).text,
                          "html.parser")
    assert len(older.select("#others li.entry")) == 5 and older.select_one("a.newest") is not None


@pytest.mark.parametrize("query", [
    "before=abc", "limit=0", "limit=1000", "from=2026-13-01", "from=2026-02-01&to=2026-01-01", "hpr=12ab",
    "section=mine", "_format=xml",
])
def test_bad_log_parameters_are_a_clear_400(citizen_pair: LiveServer, query: str) -> None:
    browser, prefix, _ = _signed_in(citizen_pair, "pas-10")
    response = browser.get(f"{prefix}api/access-log?{query}")
    assert response.status_code == 400 and _error(response) in ("bad_parameter", "invalid_hpr")
    assert response.json()["error"]["message"]["nb"] and response.json()["error"]["message"]["en"]


def test_the_log_and_blocks_come_as_fhir_on_request(citizen_pair: LiveServer, cast: dict) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-11")
    hpr = identifier(cast["practitioners"]["prac-05"], HPR_SYSTEM)
    assert browser.post(prefix + "api/blocks", json={"hpr": hpr}, headers={"X-CSRFToken": token}).status_code == 201
    try:
        log = browser.get(prefix + "api/access-log", params={"_format": "fhir"})
        assert log.headers["Content-Type"].startswith("application/fhir+json")
        bundle = log.json()
        Bundle(bundle, strict=True)
        events = [e["resource"] for e in bundle["entry"]]
        assert {e["resourceType"] for e in events} == {"AuditEvent"}
        assert events[0]["subtype"][0]["code"] == "create"  # the block just placed
        consents = browser.get(prefix + "api/blocks", params={"_format": "fhir"}).json()
        Bundle(consents, strict=True)
        deny = consents["entry"][0]["resource"]["provision"]["provision"][0]
        assert deny["type"] == "deny" and deny["actor"][0]["reference"]["identifier"] == {"system": HPR_SYSTEM, "value": hpr}
    finally:
        browser.delete(f"{prefix}api/blocks/{hpr}", headers={"X-CSRFToken": token})


# --- only the citizen, only their own ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["query", "fnr", "reference", "header", "json"])
def test_a_citizen_cannot_reach_another_citizens_log_or_blocks(citizen_pair: LiveServer, cast: dict, how: str) -> None:
    other = cast["patients"]["pas-02"]
    browser, prefix, token = _signed_in(citizen_pair, "pas-12")
    ref = f"{citizen_pair.sandbox.url}/fhir/Patient/pas-02"  # type: ignore[attr-defined]
    attempts = {
        "query": lambda url: browser.get(url, params={"patient": "pas-02"}),
        "fnr": lambda url: browser.get(url, params={"patient_identifier": identifier(other, FNR_SYSTEM)}),
        "reference": lambda url: browser.get(url, params={"subject": ref}),
        "header": lambda url: browser.get(url, headers={"X-Patient": "pas-02"}),
        "json": lambda url: browser.post(prefix + "api/blocks", json={"hpr": "1234567", "patient": "pas-02"},
                                         headers={"X-CSRFToken": token}),
    }
    for path in ("api/access-log", "api/blocks", "access-log", "blocks"):
        response = attempts[how](prefix + path)
        assert response.status_code == 403 and _error(response) == "wrong_patient", (path, response.text[:300])
    assert browser.get(prefix + "api/access-log/pas-02").status_code == 404
    mine = browser.get(prefix + "api/access-log", params={"patient": "pas-12", "section": "own"}).json()["entries"]
    assert mine and all(e["words"]["en"]["summary"] for e in mine)


def test_no_entry_of_another_patient_is_ever_listed(citizen_pair: LiveServer) -> None:
    clinician = person()
    page = clinician_launch(clinician, citizen_pair, "pas-06", "prac-06")
    assert clinician.get(base(page) + "api/vitals", timeout=60).status_code == 200
    browser, prefix, _ = _signed_in(citizen_pair, "pas-07")
    everything = []
    for section in ("others", "own"):
        everything += browser.get(prefix + "api/access-log", params={"section": section, "limit": 200}).json()["entries"]
    log = _log(citizen_pair)
    ids = {e["id"] for e in everything}
    rows = {r["id"]: r for r in log.for_patient("", f"{citizen_pair.sandbox.url}/fhir/Patient/pas-07", limit=500)}  # type: ignore[attr-defined]
    assert ids and ids <= set(rows)


def test_a_professional_cannot_read_or_change_blocks_or_the_log(citizen_pair: LiveServer, cast: dict) -> None:
    clinician = person()
    page = clinician_launch(clinician, citizen_pair, "pas-05", "prac-07")
    prefix, token = base(page), csrf(page)
    hpr = identifier(cast["practitioners"]["prac-07"], HPR_SYSTEM)
    answers = [
        clinician.get(prefix + "access-log"), clinician.get(prefix + "blocks"),
        clinician.get(prefix + "api/access-log"), clinician.get(prefix + "api/blocks"),
        clinician.post(prefix + "api/blocks", json={"hpr": hpr}, headers={"X-CSRFToken": token}),
        clinician.delete(f"{prefix}api/blocks/{hpr}", headers={"X-CSRFToken": token}),
        clinician.post(prefix + "blocks", data={"hpr": hpr, "csrf_token": token}),
        clinician.post(f"{prefix}blocks/{hpr}/lift", data={"csrf_token": token}),
    ]
    assert [(a.status_code, _error(a)) for a in answers] == [(403, "citizen_only")] * len(answers)
    citizen, cprefix, _ = _signed_in(citizen_pair, "pas-05")
    assert _blocks(citizen, cprefix) == []


# --- blocking: bad inputs, each answered with nothing changed ------------------------------------------------

@pytest.mark.parametrize("hpr", ["12", "abcdefg", "1234567890", "", "0000000", "12 34 56a", None, 1234567])
def test_a_malformed_hpr_number_is_refused(citizen_pair: LiveServer, hpr: object) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-13")
    response = browser.post(prefix + "api/blocks", json={"hpr": hpr}, headers={"X-CSRFToken": token})
    assert response.status_code == 400 and _error(response) == "invalid_hpr"
    assert _blocks(browser, prefix) == []


def test_a_malformed_hpr_number_in_the_form_is_shown_on_the_page(citizen_pair: LiveServer) -> None:
    browser = person()
    page = citizen_launch(browser, citizen_pair, "pas-13")
    blocks_page = browser.get(base(page) + "blocks")
    response = submit(browser, blocks_page, "form.add-block", hpr="12ab")
    assert response.status_code == 400 and _error(response) == "invalid_hpr"
    soup = BeautifulSoup(response.text, "html.parser")
    assert "7 til 9 sifre" in soup.select_one("#form-error").get_text() and soup.select_one("#hpr")["value"] == "12ab"


def test_an_unknown_hpr_number_is_refused(citizen_pair: LiveServer) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-13")
    response = browser.post(prefix + "api/blocks", json={"hpr": "7654321"}, headers={"X-CSRFToken": token})
    assert response.status_code == 422 and _error(response) == "unknown_hpr"
    assert "7654321" in response.json()["error"]["message"]["en"]
    assert _blocks(browser, prefix) == []


def test_blocking_twice_and_lifting_twice_are_answered_clearly(citizen_pair: LiveServer, cast: dict) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-13")
    hpr = identifier(cast["practitioners"]["prac-08"], HPR_SYSTEM)
    first = browser.post(prefix + "api/blocks", json={"hpr": hpr}, headers={"X-CSRFToken": token})
    assert first.status_code == 201 and first.headers["Location"].endswith(f"/api/blocks/{hpr}")
    assert first.json()["block"]["name"] == " ".join(cast["practitioners"]["prac-08"]["name"][0]["given"]
                                                     + [cast["practitioners"]["prac-08"]["name"][0]["family"]])
    again = browser.post(prefix + "api/blocks", data={"hpr": f" {hpr} "}, headers={"X-CSRFToken": token})
    assert again.status_code == 409 and _error(again) == "already_blocked"
    assert len(_blocks(browser, prefix)) == 1
    assert browser.delete(f"{prefix}api/blocks/{hpr}", headers={"X-CSRFToken": token}).status_code == 200
    twice = browser.delete(f"{prefix}api/blocks/{hpr}", headers={"X-CSRFToken": token})
    assert twice.status_code == 404 and _error(twice) == "no_such_block"
    never = browser.delete(f"{prefix}api/blocks/1234567", headers={"X-CSRFToken": token})
    assert never.status_code == 404 and _error(never) == "no_such_block"
    bad = browser.delete(f"{prefix}api/blocks/12ab", headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and _error(bad) == "invalid_hpr"
    actions = [e["action"] for e in browser.get(prefix + "api/access-log").json()["entries"]
               if e["action"] in ("block", "unblock")]
    assert actions[:2] == ["unblock", "block"]  # one of each, however many times it was tried


def test_lifting_a_block_that_does_not_exist_in_the_form(citizen_pair: LiveServer) -> None:
    browser = person()
    page = browser.get(base(citizen_launch(browser, citizen_pair, "pas-13")) + "blocks")
    response = browser.post(base(page).rsplit("blocks", 1)[0] + "blocks/1234567/lift", data={"csrf_token": csrf(page)})
    assert response.status_code == 404 and _error(response) == "no_such_block"


@pytest.mark.parametrize("how", ["json-without-header", "form-without-field", "form-with-wrong-token"])
def test_a_missing_csrf_token_changes_nothing(citizen_pair: LiveServer, cast: dict, how: str) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-13")
    hpr = identifier(cast["practitioners"]["prac-09"], HPR_SYSTEM)
    response = {
        "json-without-header": lambda: browser.post(prefix + "api/blocks", json={"hpr": hpr}),
        "form-without-field": lambda: browser.post(prefix + "blocks", data={"hpr": hpr}),
        "form-with-wrong-token": lambda: browser.post(prefix + "blocks", data={"hpr": hpr, "csrf_token": token[:-4] + "AAAA"}),
    }[how]()
    assert response.status_code == 400 and _error(response) == "csrf_failed"
    assert _blocks(browser, prefix) == []
    lift = browser.delete(f"{prefix}api/blocks/{hpr}")
    assert lift.status_code == 400 and _error(lift) == "csrf_failed"


def test_an_oversized_form_is_refused_before_anything_is_read(citizen_pair: LiveServer) -> None:
    browser, prefix, token = _signed_in(citizen_pair, "pas-13")
    response = browser.post(prefix + "blocks", data={"hpr": "1234567", "csrf_token": token, "pad": "x" * 70_000})
    assert response.status_code == 413 and _error(response) == "request_entity_too_large"
    assert "for stor" in response.text and "too large" in response.text
    api = browser.post(prefix + "api/blocks", data={"hpr": "1234567", "pad": "x" * 70_000}, headers={"X-CSRFToken": token})
    assert api.status_code == 413 and api.json()["error"]["message"]["en"]
    assert _blocks(browser, prefix) == []


def test_the_citizen_gets_the_same_view_with_their_own_pages_and_no_clinician_parts(citizen_pair: LiveServer) -> None:
    browser = person()
    page = citizen_launch(browser, citizen_pair, "pas-10")
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("#vitals")["data-audience"] == "citizen" and soup.select_one("#charts") is not None
    links = {a.get_text(strip=True): a["href"] for a in soup.select("nav.citizen-nav a")}
    assert set(links) == {"Målingene mine", "Innsynslogg", "Sperringer"}
    assert all(href.startswith(base(page).removeprefix(citizen_pair.url)) for href in links.values())
    assert soup.select_one("#hpr") is None and soup.select_one("#organization") is None
    assert browser.get(base(page) + "api/vitals", timeout=60).json()["charts"]
    english = BeautifulSoup(browser.get(base(page) + "blocks", params={"lang": "en"}).text, "html.parser")
    assert english.select_one("#meaning").get_text(strip=True).startswith("A block means")


def test_openapi_documents_the_citizen_operations(citizen_pair: LiveServer) -> None:
    document = requests.get(citizen_pair.url + "/openapi.json").json()
    operations = {op["operationId"]: (path, method) for path, item in document["paths"].items()
                  for method, op in item.items()}
    assert {"getVitals": ("/api/vitals", "get"), "getAccessLog": ("/api/access-log", "get"),
            "listBlocks": ("/api/blocks", "get"), "createBlock": ("/api/blocks", "post"),
            "deleteBlock": ("/api/blocks/{hpr}", "delete")}.items() <= operations.items()
    refs = {ref.rsplit("/", 1)[-1] for ref in _refs(document["paths"])}
    assert refs <= set(document["components"]["schemas"])


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
