"""The citizen's story in headless Chromium: the professional in the EHR's iframe (another origin, third-party
cookies blocked), the citizen signing in at the sandbox and using the app's own pages, by keyboard where it
matters; no CSP violation or script error on the citizen's pages."""
from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Frame, Page

from tests.citizen_steps import HPR_SYSTEM, citizen_pair, identifier, people  # noqa: F401
from tests.servers import LiveServer

PATIENT, DOCTOR = "pas-01", "prac-01"


def _ehr_frame(context: BrowserContext, pair: LiveServer) -> tuple[Page, Frame]:
    """The professional opens the patient in the EHR; the app loads in its iframe."""
    page = context.new_page()
    page.goto(f"{pair.sandbox.url}/ehr?launch_uri={pair.url}/launch&patient={PATIENT}&provider={DOCTOR}")  # type: ignore[attr-defined]
    page.frame_locator("iframe").locator("section.vital .plot .main-svg, section.error").first.wait_for(timeout=30000)
    return page, next(f for f in page.frames if f.url.startswith(pair.url))


def _citizen_signs_in(context: BrowserContext, pair: LiveServer, problems: list[str]) -> Page:
    page = context.new_page()
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{pair.url}/launch?iss={pair.sandbox.url}/fhir")  # type: ignore[attr-defined]
    page.check(f"input[name=user][value='Patient/{PATIENT}']")
    page.click("form.signin button[type=submit]")
    page.click("form.consent button[value=approve]")
    page.locator("nav.citizen-nav").wait_for(timeout=30000)
    return page


def test_the_story_in_chromium(chromium: Browser, citizen_pair: LiveServer) -> None:
    _, practitioners = people(citizen_pair)
    hpr = identifier(practitioners[DOCTOR], HPR_SYSTEM)
    x, p = chromium.new_context(locale="nb-NO"), chromium.new_context(locale="nb-NO")
    problems: list[str] = []
    try:
        x_page, frame = _ehr_frame(x, citizen_pair)
        frame.wait_for_function("document.querySelector('#vitals').dataset.state === 'ready'", timeout=30000)

        me = _citizen_signs_in(p, citizen_pair, problems)
        assert me.locator("#vitals").get_attribute("data-audience") == "citizen"
        me.click("nav.citizen-nav >> text=Innsynslogg")
        first = me.locator("#others li.entry").first
        assert hpr in first.locator("[data-field=who]").inner_text()
        assert first.locator("[data-field=organisation]").inner_text() != "–"
        assert "kl." in first.locator("[data-field=when]").inner_text()

        first.locator("form.block-this button").focus()
        me.keyboard.press("Enter")
        me.locator("#confirm").wait_for()
        assert hpr in me.locator("#confirm").inner_text()
        assert "heller ikke i en nødsituasjon" in me.locator("#meaning").inner_text()

        x_page.reload()
        x_page.frame_locator("iframe").locator("section.error").wait_for(timeout=30000)
        frame = next(f for f in x_page.frames if f.url.startswith(citizen_pair.url))
        assert frame.locator("section.error").get_attribute("data-code") == "blocked_by_patient"
        assert frame.locator("h1").inner_text() == "Pasienten har sperret din tilgang"
        assert frame.locator("#vitals").count() == 0
        assert frame.evaluate("() => fetch('api/vitals').then(r => r.status)") == 403

        me.click("nav.citizen-nav >> text=Innsynslogg")
        refused = me.locator("#others li.entry.outcome-refused").first
        assert hpr in refused.locator("[data-field=who]").inner_text()
        assert "du har sperret denne personen" in refused.locator("[data-field=outcome]").inner_text()

        me.click("nav.citizen-nav >> text=Sperringer")
        me.locator(f"li.block[data-hpr='{hpr}'] form.lift button").click()
        me.locator("#confirm").wait_for()
        assert "er opphevet" in me.locator("#confirm").inner_text() and me.locator("li.block").count() == 0

        x_page.reload()
        x_page.frame_locator("iframe").locator("section.vital .plot .main-svg").first.wait_for(timeout=30000)
        frame = next(f for f in x_page.frames if f.url.startswith(citizen_pair.url))
        assert frame.evaluate("() => fetch('api/vitals').then(r => r.status)") == 200

        me.click("nav.citizen-nav >> text=Innsynslogg")
        summaries = me.locator("#others li.entry .summary").all_inner_texts()
        assert any(s.startswith("Du sperret") and hpr in s for s in summaries)
        assert any(s.startswith("Du opphevet sperringen") and hpr in s for s in summaries)
        assert not problems, problems
    finally:
        x.close()
        p.close()
