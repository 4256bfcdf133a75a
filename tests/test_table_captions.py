"""Every table on the vendor and admin pages has a caption (a screen reader names the table by it) and headers
scoped to their columns or rows."""
from __future__ import annotations

import pytest
import requests
from bs4 import BeautifulSoup
from werkzeug.security import generate_password_hash

from app import create_app
from tests.conftest import TEST_SECRET
from tests.servers import LiveServer

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("captions-admin-app")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET,
              "ADMIN_USERS": f"alice={generate_password_hash(PASSWORD, method='pbkdf2:sha256:1000')}"}
    with LiveServer(lambda url: create_app({**config, "APP_BASE_URL": url}), host="127.0.0.1") as server:
        yield server


def _tables(html: str) -> list:
    tables = BeautifulSoup(html, "html.parser").select("table")
    assert tables
    return tables


def _check(tables: list) -> None:
    for table in tables:
        caption = table.select_one("caption")
        assert caption is not None and caption.get_text(strip=True), table.get("id")
        assert all(th.get("scope") in ("col", "row") for th in table.select("th")), table.get("id")


def test_the_vendor_page_tables_have_captions(app_server: LiveServer) -> None:
    _check(_tables(requests.get(app_server.url + "/registration", timeout=10).text))


def test_the_admin_page_tables_have_captions(admin_app: LiveServer) -> None:
    page = requests.get(admin_app.url + "/admin/", auth=("alice", PASSWORD), timeout=10)
    assert page.status_code == 200
    _check(_tables(page.text))
