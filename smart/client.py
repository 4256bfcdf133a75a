"""The app's SMART client as a Flask extension: registry, discovery cache, signing keys, token clients."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from smart import registry as registry_module
from smart.discovery import Discovery, SmartConfiguration
from smart.keys import AppKeys
from smart.registry import EhrRegistry, Registration
from smart.tokens import TokenClient

EXTENSION = "smart_client"


class SmartClient:
    """Created unbound; `init_app` loads the registry and keys from the app's settings."""

    registry: EhrRegistry
    discovery: Discovery
    keys: AppKeys
    redirect_uri: str
    timeout: float

    def init_app(self, app: Flask) -> None:
        config = app.config
        self.registry = registry_module.from_config(config)
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
