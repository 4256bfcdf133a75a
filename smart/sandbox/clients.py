"""The apps registered with the sandbox, read from a TOML file (setting `SANDBOX_CLIENTS_FILE`).

Each `[[client]]` has `client_id`, `name`, `auth_method` (`none`, `client_secret_basic`, `private_key_jwt`),
`redirect_uris`, `launch_uri`, `scope` (what it may be granted) and, by method, `secret_env` (+ an optional,
development-only `dev_secret`) or `jwks` / `jwks_uri`. `{app_base_url}` and `{sandbox_base_url}` are
substituted from the settings. Secrets never live in the file: only the name of the variable holding one.
"""
from __future__ import annotations

import hmac
import os
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import requests
from flask import current_app
from authlib.oauth2.rfc6749 import ClientMixin
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart.sandbox import scopes

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token")
JWKS_CACHE_SECONDS = 300


class ClientConfigError(ValueError):
    """The clients file cannot be used; the message names the client and the field."""


@dataclass
class Client(ClientMixin):
    """One registered app, in the shape authlib's grants ask for (RFC 6749 §2)."""

    client_id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    launch_uri: str
    scope: str
    secret: str | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    _fetched: tuple[float, KeySet] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """No default: SMART apps always send `redirect_uri`, and it must match exactly."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have; None (→ invalid_scope) when nothing is left."""
        if not scope:
            return None
        granted = scopes.narrow(scope, self.scope)
        return granted or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact string comparison.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.secret:
            return False
        return hmac.compare_digest(self.secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES

    def public_keys(self, refresh: bool = False) -> KeySet:
        """The client's public keys: inline `jwks`, or `jwks_uri` fetched over HTTP and cached a while."""
        if self.jwks is not None:
            return KeySet.import_key_set(self.jwks)
        if not self.jwks_uri:
            raise JoseError(f"Client {self.client_id} has no jwks or jwks_uri")
        with self._lock:
            if refresh or self._fetched is None or time.time() - self._fetched[0] > JWKS_CACHE_SECONDS:
                try:
                    response = requests.get(self.jwks_uri, timeout=5, headers={"Accept": "application/json"})
                    response.raise_for_status()
                    keys = KeySet.import_key_set(response.json())
                except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as exc:
                    raise JoseError(f"Cannot fetch the client's JWKS from {self.jwks_uri}: {exc}") from exc
                self._fetched = (time.time(), keys)
            return self._fetched[1]


def _text(entry: Mapping[str, Any], key: str, where: str, placeholders: Mapping[str, str]) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise ClientConfigError(f"{where}: `{key}` must be a non-empty string")
    for name, replacement in placeholders.items():
        value = value.replace("{" + name + "}", replacement)
    return value


def _secret(entry: Mapping[str, Any], where: str, production: bool) -> str:
    env_name = entry.get("secret_env")
    if not isinstance(env_name, str) or not env_name:
        raise ClientConfigError(f"{where}: client_secret_basic needs `secret_env`")
    secret = os.environ.get(env_name) or ("" if production else str(entry.get("dev_secret") or ""))
    if not secret:
        raise ClientConfigError(f"{where}: set the environment variable {env_name}")
    return secret


def _client(entry: Mapping[str, Any], placeholders: Mapping[str, str], production: bool) -> Client:
    where = f"client {entry.get('client_id', '?')!r}"
    method = entry.get("auth_method")
    if method not in AUTH_METHODS:
        raise ClientConfigError(f"{where}: `auth_method` must be one of {', '.join(AUTH_METHODS)}")
    uris = entry.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise ClientConfigError(f"{where}: `redirect_uris` must be a non-empty list")
    client = Client(
        client_id=_text(entry, "client_id", where, placeholders),
        name=_text(entry, "name", where, placeholders),
        auth_method=method,
        redirect_uris=tuple(_text({"uri": uri}, "uri", where, placeholders) for uri in uris),
        launch_uri=_text(entry, "launch_uri", where, placeholders),
        scope=_text(entry, "scope", where, placeholders),
    )
    if method == "client_secret_basic":
        client.secret = _secret(entry, where, production)
    if method == "private_key_jwt":
        if isinstance(entry.get("jwks"), dict):
            client.jwks = dict(entry["jwks"])
            KeySet.import_key_set(client.jwks)
        elif entry.get("jwks_uri"):
            client.jwks_uri = _text(entry, "jwks_uri", where, placeholders)
        else:
            raise ClientConfigError(f"{where}: private_key_jwt needs `jwks` or `jwks_uri`")
    return client


def load(path: str | Path, *, app_base_url: str, sandbox_base_url: str, production: bool = False) -> dict[str, Client]:
    """Read the clients file; raise ClientConfigError naming the first problem."""
    with Path(path).open("rb") as fh:
        data = tomllib.load(fh)
    placeholders = {"app_base_url": app_base_url.rstrip("/"), "sandbox_base_url": sandbox_base_url.rstrip("/")}
    clients: dict[str, Client] = {}
    for entry in data.get("client", []):
        client = _client(entry, placeholders, production)
        if client.client_id in clients:
            raise ClientConfigError(f"client {client.client_id!r} is registered twice")
        clients[client.client_id] = client
    return clients


def registered() -> dict[str, Client]:
    """The current sandbox's clients, by client_id (loaded by `oauth.init_app`)."""
    return current_app.extensions["sandbox_clients"]
