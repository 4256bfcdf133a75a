"""The app's SMART client as a Flask extension: registry, discovery cache, signing keys, token clients."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from app.ehr_store import EhrStore, path_for
from smart import registry as registry_module
from smart.discovery import Discovery, SmartConfiguration
from smart.keys import AppKeys
from smart.registry import CombinedRegistry, Registration
from smart.tokens import TokenClient

EXTENSION = "smart_client"


class SmartClient:
    """Created unbound; `init_app` loads the registry (TOML + stored registrations) and keys from the settings."""

    registry: CombinedRegistry
    discovery: Discovery
    keys: AppKeys
    redirect_uri: str
    timeout: float

    def init_app(self, app: Flask) -> None:
        config = app.config
        store = EhrStore(path_for(config))
        store.migrate()
        self.registry = CombinedRegistry(registry_module.from_config(config), store)
        self.timeout = float(config["HTTP_TIMEOUT"])
        self.discovery = Discovery(float(config["DISCOVERY_CACHE_SECONDS"]), self.timeout)
        self.keys = AppKeys.load_or_create(Path(config["INSTANCE_PATH"]))
        self.redirect_uri = config["APP_BASE_URL"].rstrip("/") + "/callback"
        app.extensions[EXTENSION] = self

    def token_client(self, registration: Registration, config: SmartConfiguration) -> TokenClient:
        return TokenClient(registration, config, self.keys, redirect_uri=self.redirect_uri, timeout=self.timeout)


def current_client() -> SmartClient:
    """The SmartClient of the running app."""
    return current_app.extensions[EXTENSION]
