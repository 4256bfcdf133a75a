"""Token requests to a registered EHR: the authorization code exchange and refresh.

RFC 6749 §4.1.3 (code + PKCE `code_verifier`, RFC 7636 §4.5) and §6 (refresh), sent with authlib's requests
client and the EHR's client authentication (`smart.client_auth`). SMART App Launch 2.2 "Obtain access token"
and "Refresh access token": when a refresh response has no new `refresh_token`, the old one stays valid.
Access tokens are opaque to the app: never parsed.
"""
from __future__ import annotations

import time
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from app.errors import TokenEndpointFailed
from smart.client_auth import private_key_jwt
from smart.discovery import SmartConfiguration
from smart.keys import AppKeys
from smart.registry import Registration


class TokenClient:
    """Talks to one EHR's token endpoint on behalf of the app."""

    def __init__(
        self,
        registration: Registration,
        config: SmartConfiguration,
        keys: AppKeys,
        *,
        redirect_uri: str,
        timeout: float,
    ) -> None:
        self.registration = registration
        self.config = config
        self.keys = keys
        self.redirect_uri = redirect_uri
        self.timeout = timeout

    def exchange_code(self, code: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorization code for tokens; the raw token response plus `expires_at`."""
        with self._session() as session:
            return self._call(
                lambda: session.fetch_token(
                    self.config.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=self.redirect_uri,
                    timeout=self.timeout,
                )
            )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new access token; keeps `refresh_token` when the server sends none."""
        with self._session() as session:
            token = self._call(
                lambda: session.refresh_token(
                    self.config.token_endpoint, refresh_token=refresh_token, timeout=self.timeout
                )
            )
        if not token.get("refresh_token"):
            token["refresh_token"] = refresh_token
        return token

    def _session(self) -> OAuth2Session:
        method = self.registration.auth_method
        secret = self.registration.client_secret() if method.startswith("client_secret") else None
        session = OAuth2Session(
            client_id=self.registration.client_id,
            client_secret=secret,
            token_endpoint_auth_method=method,
            redirect_uri=self.redirect_uri,
        )
        if method == "private_key_jwt":
            session.register_client_auth_method(("private_key_jwt", private_key_jwt(self.keys, self.registration)))
        return session

    @staticmethod
    def _call(request: Any) -> dict[str, Any]:
        try:
            token = dict(request())
        except OAuthError as exc:
            raise TokenEndpointFailed(error=exc.error or "", description=exc.description or "") from exc
        except (requests.RequestException, ValueError) as exc:
            raise TokenEndpointFailed(type(exc).__name__) from exc
        if not token.get("access_token"):
            raise TokenEndpointFailed("access_token")
        if str(token.get("token_type", "")).lower() != "bearer":
            raise TokenEndpointFailed("token_type")
        if token.get("expires_at") is None and isinstance(token.get("expires_in"), (int, float)):
            token["expires_at"] = int(time.time() + token["expires_in"])
        return token
