"""Steps a user takes, shared by tests: an EHR launch through the sandbox's launcher, a citizen's launch."""
from __future__ import annotations

import re

import requests

from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from tests.servers import LiveServer


LAUNCH_PAGE = re.compile(r"^(?P<app>.+)/l/(?P<handle>[A-Za-z0-9_-]{32})/$")


def launch_handle(page_url: str, app_url: str) -> str:
    """The handle of the launch whose page is `page_url` (`{app_url}/l/<handle>/`, 192 bits); asserts the shape."""
    match = LAUNCH_PAGE.match(page_url.split("?")[0])
    assert match and match["app"] == app_url, (page_url, app_url)
    return match["handle"]


def sandbox_people(sandbox: LiveServer) -> tuple[list[dict], list[dict]]:
    """The sandbox's patients and practitioners, read from its store."""
    db = connect(sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        return store.all("Patient"), store.all("Practitioner")
    finally:
        db.conn.close()


def ehr_launch(browser: requests.Session, app_server: LiveServer, patient: str, provider: str) -> requests.Response:
    """The EHR launches the app for `patient`, signed in as `provider`; returns the app's page.

    The page is the launch's own, `{app}/l/<handle>/`; its API is under the same prefix (`page.url + "api/vitals"`).
    """
    page = browser.get(
        f"{app_server.sandbox.url}/launcher",  # type: ignore[attr-defined]
        params={"launch_uri": f"{app_server.url}/launch", "patient": patient, "provider": provider},
        timeout=60,
    )
    assert page.status_code == 200, (page.status_code, page.url)
    launch_handle(page.url, app_server.url)
    return page
