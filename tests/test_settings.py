"""Settings: every one documented, environment overrides, production refuses an unsafe secret."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import settings
from app.secrets_file import ConfigurationError, secret_key

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`PMD_([A-Z0-9_]+)`", DOCS.read_text(encoding="utf-8")))
    missing = sorted(set(settings.SETTINGS) - documented)
    assert not missing, f"settings missing from docs/settings.md: {missing}"


def test_environment_overrides_default() -> None:
    values = settings.load(environ={"PMD_SANDBOX_SEED": "7", "PMD_ENV": "production"})
    assert values["SANDBOX_SEED"] == 7
    assert values["ENV"] == "production"


def test_production_refuses_to_start_without_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PMD_SECRET_KEY"):
        secret_key({"ENV": "production", "SECRET_KEY": ""}, tmp_path)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("weak", ["short", "x" * 31])
def test_weak_secret_is_refused(tmp_path: Path, weak: str) -> None:
    with pytest.raises(ConfigurationError):
        secret_key({"ENV": "development", "SECRET_KEY": weak}, tmp_path)


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = secret_key({"ENV": "development", "SECRET_KEY": ""}, tmp_path)
    second = secret_key({"ENV": "development", "SECRET_KEY": ""}, tmp_path)
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
