"""Settings as a registry: every setting has a name, a default and a help text.

Values come, in rising order of precedence, from the defaults here, `config/settings.toml`,
`PMD_<NAME>` environment variables, and a `test_config` mapping passed to a factory.
docs/settings.md must document every name (a test checks it).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


SETTINGS: dict[str, Setting] = {}


def register(name: str, default: Any, help: str, parse: Callable[[str], Any] = str) -> None:
    """Add a setting to the registry (module import time only)."""
    SETTINGS[name] = Setting(name, default, help, parse)


register("ENV", "development", "`development` or `production`; production refuses to start without a real secret.")
register("SECRET_KEY", "", "Secret for signing cookies and CSRF tokens. Required in production; "
         "development generates one into the instance folder.")
register("INSTANCE_PATH", str(ROOT / "instance"), "Folder for run-time data (SQLite files, keys); created at first run.")
register("SANDBOX_BASE_URL", "http://localhost:8001", "Public origin of the embedded SMART sandbox EHR.")
register("SANDBOX_CLIENTS_FILE", str(CONFIG_DIR / "sandbox.toml"), "TOML file of the sandbox's registered clients.")
register("SANDBOX_SEED", 20250123, "Seed for the sandbox's synthetic data (same seed, same data).", int)
register("SANDBOX_DENSE_OBSERVATIONS", 20000, "Observations for the one dense patient used for performance work.", int)
register("SANDBOX_CODE_LIFETIME", 60, "Seconds an authorization code stays valid in the sandbox.", int)
register("SANDBOX_TOKEN_LIFETIME", 3600, "Seconds a sandbox access token stays valid.", int)
register("SANDBOX_PAGE_SIZE", 50, "Default page size of sandbox FHIR searches (`_count` may ask up to 1000).", int)
register("APP_BASE_URL", "http://127.0.0.1:8000", "Public origin of the app (launch URL and redirect URI derive from it).")
register("EHRS_FILE", str(CONFIG_DIR / "ehrs.toml"), "TOML file of the EHRs (SMART issuers) the app may be launched from.")
register("SESSION_LIFETIME", 3600, "Seconds a browser session lives without being used.", int)
register("DISCOVERY_CACHE_SECONDS", 300, "Seconds an EHR's SMART configuration and JWKS are cached.", int)
register("HTTP_TIMEOUT", 10.0, "Seconds the app waits for an EHR's server before giving up.", float)
register("FHIR_PAGE_SIZE", 1000, "`_count` the app asks for when reading Observations.", int)
register("FHIR_MAX_PAGES", 100, "Most search pages the app follows for one lookup; past it the answer says it is incomplete.", int)
register("FHIR_MAX_SECONDS", 20.0, "Most seconds the app spends paging one lookup; past it the answer says it is incomplete.", float)
register("KEY_GRACE_SECONDS", 604800, "Seconds a rotated-out signing key stays published in the JWKS (`pmd keys rotate`).", int)
register("ADMIN_USERS", "", "Admin page credentials: `name=hash` entries (hash from `pmd admin hash-password`); empty: admin page off.")
register("APP_NAME", "Pasientens måledata", "The app's name as published to EHR vendors on /registration.")
register("CONTACT", "", "Contact for EHR vendors' integrators (e-mail or URL), published on /registration.")

register("ACCESS_LOG_PATH", "", "SQLite file of the access log; empty: `access_log.sqlite` in the instance folder.")
register("BLOCKS_PATH", "", "SQLite file of the citizens' blocks; empty: `blocks.sqlite` in the instance folder.")
register("MAX_CONTENT_LENGTH", 10 * 1024 * 1024, "Largest request body in bytes; larger requests get 413.", int)
register("MAX_FORM_BYTES", 64 * 1024, "Largest HTML form submission in bytes; larger forms get 413.", int)


def load(test_config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every registered setting to a value."""
    environ = os.environ if environ is None else environ
    values = {name: s.default for name, s in SETTINGS.items()}
    toml_file = CONFIG_DIR / "settings.toml"
    if toml_file.exists():
        with toml_file.open("rb") as fh:
            for key, value in tomllib.load(fh).items():
                if key.upper() in SETTINGS:
                    values[key.upper()] = value
    for name, setting in SETTINGS.items():
        raw = environ.get(f"PMD_{name}")
        if raw is not None:
            values[name] = setting.parse(raw)
    if test_config:
        values.update(test_config)
    return values
