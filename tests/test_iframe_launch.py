"""The clinician's journey in a real browser: the sandbox EHR (http://localhost) shows the app (http://127.0.0.1)
in an iframe, cross-site, with third-party cookies blocked; the launch completes inside the frame."""
from __future__ import annotations

from playwright.sync_api import Browser

from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from tests.servers import LiveServer


def test_launch_inside_the_ehr_iframe(app_server: LiveServer, chromium: Browser) -> None:
    db = connect(app_server.sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        patient, practitioner = store.all("Patient")[2], store.all("Practitioner")[0]
    finally:
        db.conn.close()
    page = chromium.new_page()
    try:
        page.goto(
            f"{app_server.sandbox.url}/ehr?launch_uri={app_server.url}/launch"
            f"&patient={patient['id']}&provider={practitioner['id']}"
        )
        frame = page.frame_locator("iframe")
        assert frame.locator("#patient").text_content(timeout=15000) == patient["id"]
        hpr = [i["value"] for i in practitioner["identifier"] if i["system"].endswith(".4.4")][0]
        assert frame.locator("#hpr").text_content() == hpr
    finally:
        page.close()
