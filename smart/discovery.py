"""Where a registered EHR's OAuth endpoints are: SMART discovery, with the CapabilityStatement as fallback.

SMART App Launch 2.2 "Conformance": `{fhir base}/.well-known/smart-configuration`; relative URLs in it are
resolved against the FHIR base. Servers without it (SMART v1) declare the endpoints in `/metadata` through the
`oauth-uris` extension. Results, and JWKS documents, are cached for `DISCOVERY_CACHE_SECONDS`.
Callers pass a `Registration`, so only registered issuers can ever be contacted.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin

import requests

from app.errors import DiscoveryFailed
from smart.registry import Registration

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass(frozen=True)
class SmartConfiguration:
    """The parts of an EHR's SMART configuration the app uses."""

    fhir_base: str
    authorization_endpoint: str
    token_endpoint: str
    issuer: str = ""
    jwks_uri: str = ""
    capabilities: frozenset[str] = field(default_factory=frozenset)
    code_challenge_methods: tuple[str, ...] = ()
    source: str = "smart-configuration"

    @property
    def permission_v2(self) -> bool:
        return "permission-v2" in self.capabilities


def _get_json(url: str, timeout: float, accept: str = "application/json") -> dict[str, Any]:
    response = requests.get(url, headers={"Accept": accept}, timeout=timeout)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return body


def _from_smart_configuration(base: str, doc: dict[str, Any]) -> SmartConfiguration:
    def resolve(name: str) -> str:
        value = doc.get(name) or ""
        if not isinstance(value, str):
            raise ValueError(f"{name} is not a string")
        return urljoin(base + "/", value) if value else ""

    authorize, token = resolve("authorization_endpoint"), resolve("token_endpoint")
    if not authorize or not token:
        raise ValueError("smart-configuration lacks authorization_endpoint or token_endpoint")
    return SmartConfiguration(
        fhir_base=base,
        authorization_endpoint=authorize,
        token_endpoint=token,
        issuer=str(doc.get("issuer") or ""),
        jwks_uri=resolve("jwks_uri"),
        capabilities=frozenset(str(c) for c in doc.get("capabilities") or []),
        code_challenge_methods=tuple(str(m) for m in doc.get("code_challenge_methods_supported") or []),
    )


def _from_capability_statement(base: str, doc: dict[str, Any]) -> SmartConfiguration:
    """SMART App Launch 1.0 "Conformance": `rest.security.extension` with `authorize` and `token`."""
    for rest in doc.get("rest") or []:
        for ext in (rest.get("security") or {}).get("extension") or []:
            if ext.get("url") != OAUTH_URIS:
                continue
            uris = {e.get("url"): e.get("valueUri") for e in ext.get("extension") or []}
            if uris.get("authorize") and uris.get("token"):
                return SmartConfiguration(
                    fhir_base=base,
                    authorization_endpoint=urljoin(base + "/", uris["authorize"]),
                    token_endpoint=urljoin(base + "/", uris["token"]),
                    source="capability-statement",
                )
    raise ValueError("CapabilityStatement has no SMART oauth-uris")


class _TtlCache:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any], *, force: bool = False) -> Any:
        with self._lock:
            hit = self._items.get(key)
        if hit and hit[0] > time.monotonic() and not force:
            return hit[1]
        value = load()
        with self._lock:
            self._items[key] = (time.monotonic() + self.seconds, value)
        return value


class Discovery:
    """SMART configuration and JWKS of registered EHRs, cached with a lifetime."""

    def __init__(self, cache_seconds: float, timeout: float) -> None:
        self.timeout = timeout
        self._configs = _TtlCache(cache_seconds)
        self._jwks = _TtlCache(cache_seconds)

    def configuration(self, registration: Registration) -> SmartConfiguration:
        base = registration.issuer
        return self._configs.get(base, lambda: self._discover(base))

    def jwks(self, config: SmartConfiguration, *, force: bool = False) -> dict[str, Any]:
        """The EHR's signing keys (for id_token); `force` refetches, e.g. after a key rotation."""
        def load() -> dict[str, Any]:
            try:
                return _get_json(self._jwks_uri(config), self.timeout)
            except (requests.RequestException, ValueError, KeyError) as exc:
                raise DiscoveryFailed("jwks_uri") from exc

        return self._jwks.get(config.fhir_base, load, force=force)

    def _jwks_uri(self, config: SmartConfiguration) -> str:
        """From smart-configuration; else from OpenID Connect Discovery 1.0 §4 at the issuer."""
        if config.jwks_uri:
            return config.jwks_uri
        issuer = (config.issuer or config.fhir_base).rstrip("/")
        doc = _get_json(f"{issuer}/.well-known/openid-configuration", self.timeout)
        return urljoin(issuer + "/", doc["jwks_uri"])

    def _discover(self, base: str) -> SmartConfiguration:
        try:
            doc = _get_json(f"{base}/.well-known/smart-configuration", self.timeout)
            return _from_smart_configuration(base, doc)
        except (requests.RequestException, ValueError):
            pass
        try:
            doc = _get_json(f"{base}/metadata", self.timeout, "application/fhir+json")
            return _from_capability_statement(base, doc)
        except (requests.RequestException, ValueError) as exc:
            raise DiscoveryFailed(base) from exc
