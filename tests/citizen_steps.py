"""Steps of the citizen's story, and an app + sandbox pair of their own (blocks are global state, so the citizen
tests do not share the session-wide `app_server`). Import `citizen_pair` into a test module to use it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import pytest
import requests
from bs4 import BeautifulSoup

from tests.conftest import LoopbackSecureCookiePolicy
from tests.journeys import ehr_launch, sandbox_people
from tests.pairs import app_pair
from tests.servers import LiveServer

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"


@pytest.fixture(scope="session")
def citizen_pair(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An app + sandbox pair for the citizen tests only."""
    with app_pair(seeded_instance / "sandbox.sqlite", tmp_path_factory.mktemp("citizen-pair")) as pair:
        yield pair


def person() -> requests.Session:
    """A browser-like HTTP client of one person (cookies kept like a browser on loopback)."""
    session = requests.Session()
    session.cookies.set_policy(LoopbackSecureCookiePolicy())
    return session


def citizen_launch(browser: requests.Session, pair: LiveServer, patient: str) -> requests.Response:
    """The citizen opens the app directly and signs in at the sandbox as `Patient/<patient>` (login_hint, no
    consent page: prompt=none); returns the app's page for that launch."""
    start = browser.get(f"{pair.url}/launch", params={"iss": f"{pair.sandbox.url}/fhir"},  # type: ignore[attr-defined]
                        allow_redirects=False, timeout=30)
    assert start.status_code == 302, start.text[:500]
    hint = urlencode({"login_hint": f"Patient/{patient}", "prompt": "none"})
    page = browser.get(f"{start.headers['Location']}&{hint}", timeout=60)
    assert page.status_code == 200 and "/l/" in page.url, (page.status_code, page.url, page.text[:500])
    return page


def clinician_launch(browser: requests.Session, pair: LiveServer, patient: str, practitioner: str) -> requests.Response:
    return ehr_launch(browser, pair, patient, practitioner)


def base(page: requests.Response) -> str:
    """The launch's own URL prefix (`{app}/l/<handle>/`): its pages and API live under it."""
    return page.url.split("?")[0].rstrip("/") + "/"


def csrf(page: requests.Response) -> str:
    return BeautifulSoup(page.text, "html.parser").select_one("meta[name=csrf-token]")["content"]


def identifier(resource: dict, system: str) -> str:
    return next(i["value"] for i in resource["identifier"] if i["system"] == system)


def people(pair: LiveServer) -> tuple[dict[str, dict], dict[str, dict]]:
    """Sandbox patients and practitioners by id."""
    patients, practitioners = sandbox_people(pair.sandbox)  # type: ignore[attr-defined]
    return {p["id"]: p for p in patients}, {p["id"]: p for p in practitioners}


def submit(browser: requests.Session, page: requests.Response, selector: str, **values: str) -> requests.Response:
    """Submit one of the app's forms as a browser would: its hidden fields (CSRF token too) plus `values`."""
    form = BeautifulSoup(page.text, "html.parser").select_one(selector)
    assert form is not None, (selector, page.text[:1000])
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data.update(values)
    return browser.post(requests.compat.urljoin(page.url, form["action"]), data=data, timeout=60)
