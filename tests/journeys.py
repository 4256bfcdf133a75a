"""Steps a user takes, shared by tests: an EHR launch through the sandbox's launcher, a citizen's launch."""
from __future__ import annotations

import requests

from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from tests.servers import LiveServer


def sandbox_people(sandbox: LiveServer) -> tuple[list[dict], list[dict]]:
    """The sandbox's patients and practitioners, read from its store."""
    db = connect(sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        return store.all("Patient"), store.all("Practitioner")
    finally:
        db.conn.close()


def ehr_launch(browser: requests.Session, app_server: LiveServer, patient: str, provider: str) -> requests.Response:
    """The EHR launches the app for `patient`, signed in as `provider`; returns the app's page."""
    page = browser.get(
        f"{app_server.sandbox.url}/launcher",  # type: ignore[attr-defined]
        params={"launch_uri": f"{app_server.url}/launch", "patient": patient, "provider": provider},
        timeout=60,
    )
    assert page.status_code == 200 and page.url == app_server.url + "/", (page.status_code, page.url)
    return page
