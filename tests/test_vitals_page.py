"""The clinician's view in headless Chromium: launched from the sandbox EHR into its iframe (another origin),
each chart holds the patient's points and the table under it shows the same values."""
from __future__ import annotations

import sqlite3
from urllib.parse import urljoin

import requests
from playwright.sync_api import Browser, Frame, Page

from tests.journeys import sandbox_people
from tests.servers import LiveServer

PATIENT = "pas-05"


def _open_in_ehr(chromium: Browser, app_server: LiveServer, patient: str = PATIENT,
                 wait_for: str = "section.vital .plot .main-svg") -> tuple[Page, Frame, list[str]]:
    _, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{app_server.sandbox.url}/ehr?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
              f"&patient={patient}&provider={practitioners[0]['id']}")
    page.frame_locator("iframe").locator(wait_for).first.wait_for(timeout=30000)
    frame = next(f for f in page.frames if f.url.startswith(app_server.url))
    return page, frame, problems


def test_each_chart_has_the_patients_points_and_the_table_the_same_values(
        chromium: Browser, app_server: LiveServer) -> None:
    page, frame, problems = _open_in_ehr(chromium, app_server)
    try:
        frame.wait_for_function("document.querySelector('#vitals').dataset.state === 'ready'", timeout=30000)
        drawn = frame.evaluate("""() => Array.from(document.querySelectorAll('section.vital')).map(s => ({
            key: s.id.replace('vital-', ''),
            y: s.querySelector('.plot').data.map(t => t.y),
            rows: Array.from(s.querySelectorAll('tbody tr')).map(r =>
                Array.from(r.querySelectorAll('td')).map(td => td.textContent)),
            total: s.querySelector('summary').textContent }))""")
        keys = [c["key"] for c in drawn]
        assert keys[:3] == ["heart_rate", "blood_pressure", "spo2"] and "resp_rate" in keys
        for chart in drawn:
            assert all(len(y) > 0 for y in chart["y"]), chart["key"]
            shown = {float(cell.split()[0].replace(",", ".")) for row in chart["rows"] for cell in row[:len(chart["y"])] if cell}
            drawn_values = {float(v) for trace in chart["y"] for v in trace}
            assert shown <= drawn_values or len(shown & drawn_values) > 0.9 * len(shown), chart["key"]
        spo2 = next(c for c in drawn if c["key"] == "spo2")
        assert min(min(t) for t in spo2["y"]) <= 88  # the COPD exacerbation is visible
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
        assert not problems, problems
    finally:
        page.close()


def test_table_matches_the_api_value_for_value(chromium: Browser, app_server: LiveServer,
                                                browser: requests.Session) -> None:
    page, frame, _ = _open_in_ehr(chromium, app_server)
    try:
        frame.wait_for_function("document.querySelector('#vitals').dataset.state === 'ready'", timeout=30000)
        frame.click("#vital-heart_rate summary")
        first_rows = frame.evaluate("""() => Array.from(document.querySelectorAll('#vital-heart_rate tbody tr'))
            .slice(0, 5).map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent])""")
        cookies = page.context.cookies(frame.url)
        for cookie in cookies:
            browser.cookies.set(cookie["name"], cookie["value"])
        data_api = frame.get_attribute("#vitals", "data-api")  # the page's own API URL, in the page's language
        api = browser.get(urljoin(frame.url, data_api), timeout=60).json()
        rows = api["tables"]["heart_rate"]["rows"][:5]
        assert first_rows == [[r["time_oslo"], r["values"][0]] for r in rows]
    finally:
        page.close()


def test_range_buttons_are_keyboard_reachable_and_narrow_every_chart(
        chromium: Browser, app_server: LiveServer) -> None:
    page, frame, _ = _open_in_ehr(chromium, app_server)
    try:
        frame.wait_for_function("document.querySelector('#vitals').dataset.state === 'ready'", timeout=30000)
        button = frame.locator("button[data-days='7']")
        button.focus()
        page.keyboard.press("Enter")
        assert button.get_attribute("aria-pressed") == "true"
        ranges = frame.evaluate("""() => Array.from(document.querySelectorAll('.plot'))
            .map(p => p.layout.xaxis.range.map(v => new Date(String(v).replace(' ', 'T')).getTime()))""")
        spans = {round((hi - lo) / 86400000) for lo, hi in ranges}
        assert spans == {7}
    finally:
        page.close()


def test_a_patient_without_measurements_gets_an_empty_state_that_says_what_to_do(
        chromium: Browser, app_server: LiveServer) -> None:
    page, frame, problems = _open_in_ehr(chromium, app_server, "pas-14", "#vitals[data-state='empty']")
    try:
        status = frame.locator("#status").inner_text()
        assert "Ingen målinger" in status or "No measurements" in status
        assert frame.locator("section.vital").count() == 0
        assert not problems, problems
    finally:
        page.close()


def test_an_error_says_what_to_do_and_retry_recovers(chromium: Browser, app_server: LiveServer) -> None:
    log_path = app_server.app.extensions["access_log"].path
    with sqlite3.connect(log_path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    try:
        page, frame, _ = _open_in_ehr(chromium, app_server, PATIENT, "#vitals[data-state='error']")
    finally:
        with sqlite3.connect(log_path) as conn:
            conn.execute("DROP TRIGGER refuse")
    try:
        status = frame.locator("#status")
        assert "logg" in status.inner_text().lower()
        assert frame.locator("section.vital").count() == 0
        retry = status.locator("button")
        retry.focus()
        page.keyboard.press("Enter")
        frame.wait_for_selector("#vitals[data-state='ready']", timeout=30000)
        assert frame.locator("section.vital").count() >= 4
    finally:
        page.close()
