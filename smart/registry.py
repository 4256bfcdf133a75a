"""The EHRs (SMART issuers) the app is registered with; no other issuer is ever contacted.

Read from a TOML file (`EHRS_FILE`, default `config/ehrs.toml`). Issue 5 adds registrations stored in SQLite:
callers depend only on the `EhrRegistry` protocol (`find(iss)`, `all()`).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol

from app.secrets_file import ConfigurationError

AUTH_METHODS = {"private_key_jwt", "client_secret_basic", "client_secret_post", "none"}
SIGNING_ALGS = {"RS384", "ES384"}  # SMART App Launch 2.2, "Client Authentication: Asymmetric"
MEASUREMENT_SOURCES = {"ehr", "national"}


def normalize_issuer(iss: str) -> str:
    """Compare issuers without a trailing slash and with a lower-case scheme and host."""
    iss = iss.strip().rstrip("/")
    scheme, sep, rest = iss.partition("://")
    if not sep:
        return iss
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


@dataclass(frozen=True)
class Registration:
    """One EHR's registration of the app: how to authenticate there and where its measurements are read."""

    issuer: str
    client_id: str
    name: str = ""
    auth_method: str = "private_key_jwt"
    signing_alg: str = "RS384"
    secret_env: str = ""
    frame_origins: tuple[str, ...] = ()
    measurements: str = "ehr"
    store_url: str = ""

    def client_secret(self) -> str:
        """The shared secret from the environment variable named in the registration."""
        value = os.environ.get(self.secret_env, "") if self.secret_env else ""
        if not value:
            raise ConfigurationError(f"EHR {self.issuer}: environment variable {self.secret_env or '(secret_env)'} is not set.")
        return value


class EhrRegistry(Protocol):
    def find(self, iss: str) -> Registration | None: ...

    def all(self) -> list[Registration]: ...


class TomlEhrRegistry:
    """Registrations from `[[ehr]]` tables; `{app_base_url}` and `{sandbox_base_url}` are substituted."""

    def __init__(self, path: str | Path, placeholders: Mapping[str, str]) -> None:
        self.path = Path(path)
        with self.path.open("rb") as fh:
            entries = tomllib.load(fh).get("ehr", [])
        self._by_issuer: dict[str, Registration] = {}
        for number, entry in enumerate(entries, start=1):
            registration = _registration(entry, placeholders, f"{self.path} [[ehr]] #{number}")
            self._by_issuer[normalize_issuer(registration.issuer)] = registration

    def find(self, iss: str) -> Registration | None:
        return self._by_issuer.get(normalize_issuer(iss))

    def all(self) -> list[Registration]:
        return list(self._by_issuer.values())


def _substitute(value: Any, placeholders: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in placeholders.items():
            value = value.replace("{" + name + "}", replacement.rstrip("/"))
        return value
    if isinstance(value, list):
        return [_substitute(v, placeholders) for v in value]
    return value


def _registration(entry: Mapping[str, Any], placeholders: Mapping[str, str], where: str) -> Registration:
    entry = {key: _substitute(value, placeholders) for key, value in entry.items()}
    for required in ("issuer", "client_id"):
        if not entry.get(required):
            raise ConfigurationError(f"{where}: `{required}` is required.")
    checks = [
        ("auth_method", AUTH_METHODS, "private_key_jwt"),
        ("signing_alg", SIGNING_ALGS, "RS384"),
        ("measurements", MEASUREMENT_SOURCES, "ehr"),
    ]
    for key, allowed, default in checks:
        if entry.setdefault(key, default) not in allowed:
            raise ConfigurationError(f"{where}: `{key}` must be one of {sorted(allowed)}.")
    if entry["auth_method"].startswith("client_secret") and not entry.get("secret_env"):
        raise ConfigurationError(f"{where}: `secret_env` names the variable holding the client secret.")
    if entry["measurements"] == "national" and not entry.get("store_url"):
        raise ConfigurationError(f"{where}: `store_url` is required when measurements = \"national\".")
    known = set(Registration.__dataclass_fields__)
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {unknown}.")
    entry["issuer"] = normalize_issuer(entry["issuer"])
    entry["frame_origins"] = tuple(entry.get("frame_origins", ()))
    return Registration(**entry)


def from_config(config: Mapping[str, Any]) -> TomlEhrRegistry:
    """The registry the app's settings point at."""
    return TomlEhrRegistry(
        config["EHRS_FILE"],
        {"app_base_url": config["APP_BASE_URL"], "sandbox_base_url": config["SANDBOX_BASE_URL"]},
    )
