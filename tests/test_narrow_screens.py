"""What fits a phone (375 px wide) and the EHR's iframe: no page scrolls sideways; a wide value table scrolls
inside its own box instead, and the vendor and admin pages stack their label/value columns."""
from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from werkzeug.security import generate_password_hash

from app import create_app
from tests.conftest import TEST_SECRET
from tests.journeys import sandbox_people
from tests.servers import LiveServer

PHONE = {"width": 375, "height": 800}
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("narrow-admin-app")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET,
              "ADMIN_USERS": f"alice={generate_password_hash(PASSWORD, method='pbkdf2:sha256:1000')}"}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url}), host="127.0.0.1") as server:
        yield server


def _phone(chromium: Browser, **extra: object) -> Page:
    return chromium.new_context(viewport=PHONE, locale="nb-NO", **extra).new_page()  # type: ignore[arg-type]


def test_an_open_value_table_does_not_push_the_page_sideways_on_a_phone(
        chromium: Browser, app_server: LiveServer) -> None:
    _, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    page = _phone(chromium)
    try:
        for lang in ("nb", "en"):
            page.goto(f"{app_server.sandbox.url}/launcher?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
                      f"&patient=pas-01&provider={practitioners[0]['id']}")
            page.goto(page.url.split("?")[0] + f"?lang={lang}")
            page.wait_for_selector("#vitals[data-state='ready']", timeout=30000)
            for summary in page.locator("section.vital details.table > summary").all():
                summary.click()
            assert page.evaluate(SIDEWAYS) <= 0, lang
            table = page.locator("section.vital details.table").first
            assert table.evaluate("d => d.scrollWidth > d.clientWidth"), "the table itself scrolls"
    finally:
        page.context.close()


def test_the_value_tables_fit_inside_a_narrow_ehr_iframe(chromium: Browser, app_server: LiveServer) -> None:
    _, practitioners = sandbox_people(app_server.sandbox)  # type: ignore[attr-defined]
    page = _phone(chromium)
    try:
        page.goto(f"{app_server.sandbox.url}/ehr?launch_uri={app_server.url}/launch"  # type: ignore[attr-defined]
                  f"&patient=pas-13&provider={practitioners[0]['id']}")
        page.frame_locator("iframe").locator("#vitals[data-state='ready']").wait_for(timeout=30000)
        frame = next(f for f in page.frames if f.url.startswith(app_server.url))
        frame.locator("section.vital details.table > summary").first.click()
        assert frame.evaluate(SIDEWAYS) <= 0
    finally:
        page.context.close()


def test_the_vendor_registration_page_fits_a_phone(chromium: Browser, app_server: LiveServer) -> None:
    page = _phone(chromium)
    try:
        page.goto(app_server.url + "/registration")
        assert page.evaluate(SIDEWAYS) <= 0
        launch = page.locator("#launch-uri").bounding_box()
        assert launch is not None and launch["width"] > 200, "values get the width, not one letter per line"
    finally:
        page.context.close()


def test_the_admin_page_fits_a_phone(chromium: Browser, admin_app: LiveServer) -> None:
    page = _phone(chromium, http_credentials={"username": "alice", "password": PASSWORD})
    try:
        page.goto(admin_app.url + "/admin/")
        assert page.locator("#admin-user").inner_text() == "alice"
        assert page.evaluate(SIDEWAYS) <= 0
        field = page.locator("#iss").bounding_box()
        assert field is not None and field["width"] > 250
    finally:
        page.context.close()
