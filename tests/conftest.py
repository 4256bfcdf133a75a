"""Shared fixtures: a seeded sandbox instance and the sandbox served over real HTTP."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from smart.sandbox import create_sandbox
from tests.servers import LiveServer

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def seeded_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder whose sandbox database was generated once for the whole run."""
    folder = tmp_path_factory.mktemp("seeded")
    create_sandbox({"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET})
    return folder


@pytest.fixture(scope="session")
def sandbox(seeded_instance: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sandbox EHR on 127.0.0.1, with its own copy of the seeded data."""
    folder = tmp_path_factory.mktemp("sandbox")
    shutil.copy(seeded_instance / "sandbox.sqlite", folder / "sandbox.sqlite")
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET}
    with LiveServer(lambda url: create_sandbox({**config, "SANDBOX_BASE_URL": url})) as server:
        yield server


@pytest.fixture()
def http() -> requests.Session:
    """A fresh HTTP client with its own cookies; pass allow_redirects=False to see each hop."""
    with requests.Session() as session:
        yield session
