"""The citizen's story end to end over real HTTP: a professional looks up a patient from the EHR, the patient
sees it, blocks that person, the person is refused (page and API, no data), the patient sees the refusal, lifts
the block, the person sees data again, and the patient sees both the block and the lift."""
from __future__ import annotations

import requests
from bs4 import BeautifulSoup

from tests.citizen_steps import (HPR_SYSTEM, base, citizen_launch, citizen_pair, clinician_launch,  # noqa: F401
                                 identifier, people, person, submit)
from tests.servers import LiveServer

PATIENT, DOCTOR = "pas-03", "prac-03"


def _entries(page: requests.Response, section: str = "others") -> list[dict[str, str]]:
    soup = BeautifulSoup(page.text, "html.parser")
    return [{"summary": li.select_one(".summary").get_text(strip=True), "action": li["class"][2],
             **{dd["data-field"]: dd.get_text(strip=True) for dd in li.select("dd")}}
            for li in soup.select(f"#{section} li.entry")]


def test_lookup_block_refusal_lift_and_data_again(citizen_pair: LiveServer) -> None:
    _, practitioners = people(citizen_pair)
    doctor = practitioners[DOCTOR]
    hpr = identifier(doctor, HPR_SYSTEM)
    x, p = person(), person()

    # X looks up P from the EHR.
    x_page = clinician_launch(x, citizen_pair, PATIENT, DOCTOR)
    x_api = base(x_page) + "api/vitals"
    seen = x.get(x_api, timeout=60)
    assert seen.status_code == 200 and seen.json()["charts"]
    org = BeautifulSoup(x_page.text, "html.parser").select_one("#organization").get_text(strip=True)

    # P signs in and sees X's lookup: name, HPR number, organisation, time and what was seen.
    p_page = citizen_launch(p, citizen_pair, PATIENT)
    log_page = p.get(base(p_page) + "access-log")
    first = _entries(log_page)[0]
    assert hpr in first["who"] and first["who"].split(" (")[0] in first["summary"]
    assert first["organisation"] == org and " kl. " in first["when"]
    assert "Puls" in first["what"] and "Oksygenmetning" in first["what"] and first["outcome"] == "Vist"

    # P blocks X from that log entry; the page says what it means in one sentence.
    placed = submit(p, log_page, "#others li.entry form.block-this")
    assert placed.status_code == 200 and placed.url.split("?")[0].endswith("/blocks")
    soup = BeautifulSoup(placed.text, "html.parser")
    assert hpr in soup.select_one("#confirm").get_text() and "heller ikke i en nødsituasjon" in soup.select_one("#confirm").get_text()
    assert soup.select_one("#meaning").get_text(strip=True).count(".") == 1
    assert [li["data-hpr"] for li in soup.select("li.block")] == [hpr]

    # X launches again: a plain refusal page, no data; the JSON API refuses too (also X's earlier launch).
    refused_page = x.get(f"{citizen_pair.sandbox.url}/launcher",  # type: ignore[attr-defined]
                         params={"launch_uri": f"{citizen_pair.url}/launch", "patient": PATIENT, "provider": DOCTOR})
    assert refused_page.status_code == 403
    refusal = BeautifulSoup(refused_page.text, "html.parser")
    assert refusal.select_one("section.error")["data-code"] == "blocked_by_patient"
    assert refusal.select_one("h1").get_text(strip=True) == "Pasienten har sperret din tilgang"
    assert "The patient has blocked your access" in refused_page.text and refusal.select_one("#vitals") is None
    for api in (base(refused_page) + "api/vitals", x_api):
        answer = x.get(api, timeout=60)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "blocked_by_patient"
        assert set(answer.json()) == {"error"}

    # P sees the refused attempts.
    refusals = [e for e in _entries(p.get(base(p_page) + "access-log")) if e["action"] == "action-lookup"
                and e["outcome"].startswith("Avvist")]
    assert len(refusals) == 3 and all(hpr in e["who"] for e in refusals)
    assert refusals[0]["outcome"] == "Avvist: du har sperret denne personen"

    # P lifts the block; X sees data again.
    lifted = submit(p, p.get(base(p_page) + "blocks"), f"li.block[data-hpr='{hpr}'] form.lift")
    assert lifted.status_code == 200 and "er opphevet" in BeautifulSoup(lifted.text, "html.parser").select_one("#confirm").get_text()
    again = clinician_launch(x, citizen_pair, PATIENT, DOCTOR)
    data = x.get(base(again) + "api/vitals", timeout=60)
    assert data.status_code == 200 and data.json()["charts"]

    # P sees the block and the lift, in order, among the lookups.
    actions = [(e["action"], e["outcome"][:5]) for e in _entries(p.get(base(p_page) + "access-log"))]
    assert actions[:6] == [("action-lookup", "Vist"), ("action-unblock", "Vist"), ("action-lookup", "Avvis"),
                           ("action-lookup", "Avvis"), ("action-lookup", "Avvis"), ("action-block", "Vist")]
    block_line = next(e for e in _entries(p.get(base(p_page) + "access-log")) if e["action"] == "action-block")
    assert hpr in block_line["summary"] and block_line["summary"].startswith("Du sperret")
