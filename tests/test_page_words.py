"""The words a citizen and a clinician read: English pages say times in English (Oslo time still), and the empty
state gives advice that can help."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import Browser

from tests.citizen_steps import (HPR_SYSTEM, app_pair, base, citizen_launch, clinician_launch, identifier, people,
                                 person, submit)
from tests.journeys import sandbox_people
from tests.servers import LiveServer

PATIENT, DOCTOR = "pas-02", "prac-02"


@pytest.fixture(scope="module")
def words_pair(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with app_pair(seeded_instance / "sandbox.sqlite", tmp_path_factory.mktemp("words-pair")) as pair:
        yield pair


def _texts(html: str, selector: str) -> list[str]:
    return [node.get_text(" ", strip=True) for node in BeautifulSoup(html, "html.parser").select(selector)]


def test_english_access_log_and_blocks_say_the_time_in_english(words_pair: LiveServer) -> None:
    _, practitioners = people(words_pair)
    hpr = identifier(practitioners[DOCTOR], HPR_SYSTEM)
    clinician = person()
    assert clinician.get(base(clinician_launch(clinician, words_pair, PATIENT, DOCTOR)) + "api/vitals",
                         timeout=60).status_code == 200
    citizen = person()
    prefix = base(citizen_launch(citizen, words_pair, PATIENT))

    english_log = citizen.get(prefix + "access-log?lang=en", timeout=60)
    times = _texts(english_log.text, "[data-field=when]")
    assert times and all(re.fullmatch(r"\d\d\.\d\d\.\d{4} at \d\d:\d\d", t) for t in times), times
    norwegian_log = citizen.get(prefix + "access-log?lang=nb", timeout=60)
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} kl\. \d\d:\d\d", t) for t in _texts(norwegian_log.text, "[data-field=when]"))
    entry = citizen.get(prefix + "api/access-log", timeout=60).json()["entries"][0]
    assert " at " in entry["words"]["en"]["when"] and " kl. " in entry["words"]["nb"]["when"]

    submit(citizen, norwegian_log, "#others li.entry form.block-this")
    try:
        blocks = citizen.get(prefix + "blocks?lang=en", timeout=60)
        since = _texts(blocks.text, f"li.block[data-hpr='{hpr}'] .since")
        assert len(since) == 1 and re.fullmatch(r"\d\d\.\d\d\.\d{4} at \d\d:\d\d", since[0]), since
    finally:
        page = citizen.get(prefix + "blocks", timeout=60)
        submit(citizen, page, f"li.block[data-hpr='{hpr}'] form.lift")


def test_a_patient_without_any_measurements_is_not_told_to_try_a_longer_period(
        chromium: Browser, app_server: LiveServer) -> None:
    _, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    page = chromium.new_page()
    try:
        for lang in ("nb", "en"):
            page.goto(f"{app_server.sandbox.url}/launcher?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
                      f"&patient=pas-14&provider={practitioners[0]['id']}")
            page.goto(page.url.split("?")[0] + f"?lang={lang}")
            page.wait_for_selector("#vitals[data-state='empty']", timeout=30000)
            assert page.locator("button[data-days='all']").get_attribute("aria-pressed") == "true"
            status = page.locator("#status").inner_text()
            assert "lengre periode" not in status and "longer period" not in status, status
            assert ("måleutstyret" in status) if lang == "nb" else ("device" in status), status
    finally:
        page.close()
