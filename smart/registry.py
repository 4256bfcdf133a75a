"""The EHRs (SMART issuers) the app is registered with; no other issuer is ever contacted.

Two sources: a TOML file read at start (`EHRS_FILE`, default `config/ehrs.toml`, for pre-registered EHRs) and
registrations stored in SQLite by `pmd ehr add` or the admin page (`app/ehr_store.py`), read through on each
lookup so that a new registration takes effect for the next launch. Callers depend only on the `EhrRegistry`
protocol (`find(iss)`, `all()`).

An issuer is registered by its exact URL (`match = "exact"`) or by a URL prefix (`match = "prefix"`: the public
SMART launcher puts launch settings in the path, `…/v/r4/sim/<settings>/fhir`, and some EHRs give each site its
own path). An exact registration beats any prefix; among prefixes the longest wins; a prefix only matches whole
path segments. A prefix match answers with the concrete `iss` as `issuer` (it is the FHIR base and the `aud`).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Protocol

from app.secrets_file import ConfigurationError

AUTH_METHODS = {"private_key_jwt", "client_secret_basic", "client_secret_post", "none"}
SIGNING_ALGS = {"RS384", "ES384"}  # SMART App Launch 2.2, "Client Authentication: Asymmetric"
MEASUREMENT_SOURCES = {"ehr", "national"}
MATCHES = {"exact", "prefix"}
# What may follow a registered prefix: whole path segments, none of them `.` or `..`, no query or fragment.
_PREFIX_REST = re.compile(r"^(/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:%-]+)*$")


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
    match: str = "exact"
    registered_issuer: str = ""  # for a prefix match: the registered prefix (issuer is then the concrete iss)
    source: str = "config"  # config (the TOML file) | stored (SQLite, added by CLI or admin page)

    @property
    def key(self) -> str:
        """The URL (exact issuer or prefix) this registration was made under."""
        return self.registered_issuer or self.issuer

    def client_secret(self) -> str:
        """The shared secret from the environment variable named in the registration."""
        value = os.environ.get(self.secret_env, "") if self.secret_env else ""
        if not value:
            raise ConfigurationError(f"EHR {self.issuer}: environment variable {self.secret_env or '(secret_env)'} is not set.")
        return value


class EhrRegistry(Protocol):
    def find(self, iss: str) -> Registration | None: ...

    def all(self) -> list[Registration]: ...


def resolve(registrations: list[Registration], iss: str) -> Registration | None:
    """The registration that applies to `iss`: exact match first, then the longest matching prefix."""
    wanted = normalize_issuer(iss)
    for registration in registrations:
        if registration.match == "exact" and registration.issuer == wanted:
            return registration
    best: Registration | None = None
    for registration in registrations:
        if registration.match != "prefix" or not wanted.startswith(registration.issuer):
            continue
        rest = wanted[len(registration.issuer):]
        if _PREFIX_REST.match(rest) and "%2e" not in rest.lower() and (
            best is None or len(registration.issuer) > len(best.issuer)
        ):
            best = registration
    if best is None:
        return None
    return replace(best, issuer=wanted, registered_issuer=best.issuer)


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
        return resolve(list(self._by_issuer.values()), iss)

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
        ("match", MATCHES, "exact"),
    ]
    for key, allowed, default in checks:
        if entry.setdefault(key, default) not in allowed:
            raise ConfigurationError(f"{where}: `{key}` must be one of {sorted(allowed)}.")
    if entry["auth_method"].startswith("client_secret") and not entry.get("secret_env"):
        raise ConfigurationError(f"{where}: `secret_env` names the variable holding the client secret.")
    if entry["measurements"] == "national" and not entry.get("store_url"):
        raise ConfigurationError(f"{where}: `store_url` is required when measurements = \"national\".")
    known = set(Registration.__dataclass_fields__) - {"registered_issuer", "source"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {unknown}.")
    entry["issuer"] = normalize_issuer(entry["issuer"])
    entry["frame_origins"] = tuple(entry.get("frame_origins", ()))
    return Registration(**entry)


class StoredRegistrations(Protocol):
    """Registrations kept in a database (`app.ehr_store.EhrStore`); read on every call, cheap when unchanged."""

    def all(self) -> list[Registration]: ...


class CombinedRegistry:
    """The TOML registrations (read at start) and the stored ones (read through), as one `EhrRegistry`."""

    def __init__(self, configured: TomlEhrRegistry, stored: StoredRegistrations) -> None:
        self.configured = configured
        self.stored = stored

    def all(self) -> list[Registration]:
        return [*self.configured.all(), *self.stored.all()]

    def find(self, iss: str) -> Registration | None:
        return resolve(self.all(), iss)

    def registered(self, key: str) -> Registration | None:
        """The registration made under exactly this URL (issuer or prefix), without prefix matching."""
        wanted = normalize_issuer(key)
        return next((r for r in self.all() if r.issuer == wanted), None)


def from_config(config: Mapping[str, Any]) -> TomlEhrRegistry:
    """The pre-registered EHRs of the TOML file the app's settings point at."""
    return TomlEhrRegistry(
        config["EHRS_FILE"],
        {"app_base_url": config["APP_BASE_URL"], "sandbox_base_url": config["SANDBOX_BASE_URL"]},
    )
