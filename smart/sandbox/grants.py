"""authlib grants and extensions with the SMART rules: PKCE S256 only, `aud` = FHIR base, EHR launch
context, single-use codes whose replay revokes their tokens, rotating refresh tokens, and id_tokens
with `fhirUser` (SMART App Launch 2.2, app-launch.html §"Step 4" to §"Step 7").
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import current_app

from smart.sandbox.codes import CodeStore, IssuedCode
from smart.sandbox.db import get_db
from smart.sandbox.launches import Launch, LaunchStore
from smart.sandbox.tokens import IssuedRefresh, TokenStore

AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "none"]


@dataclass(frozen=True)
class SandboxUser:
    """The signed-in user and the launch context an authorization carries into its tokens."""

    fhir_user: str
    patient: str | None = None
    need_patient_banner: bool = True
    launch_id: str | None = None
    grant_id: str | None = None
    auth_time: int = 0

    def context_json(self) -> str:
        return json.dumps({"need_patient_banner": self.need_patient_banner})

    @classmethod
    def from_stored(cls, fhir_user: str, patient: str | None, context: str, grant_id: str | None,
                    auth_time: int = 0) -> "SandboxUser":
        banner = json.loads(context or "{}").get("need_patient_banner", True)
        return cls(fhir_user, patient, bool(banner), None, grant_id, auth_time)


def token_context(user: SandboxUser) -> dict[str, Any]:
    """Launch context parameters of the token response (SMART §"Step 5", "Access token response")."""
    context: dict[str, Any] = {
        "need_patient_banner": user.need_patient_banner,
        "smart_style_url": current_app.config["SANDBOX_BASE_URL"] + "/smart-style.json",
    }
    if user.patient:
        context["patient"] = user.patient
    return context


class SmartCodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code grant; codes live in SQLite (`CodeStore`)."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def create_authorization_response(self, redirect_uri: str, grant_user: SandboxUser | None) -> Any:
        # A launch id is single use: consumed when the code for it is issued.
        if grant_user and grant_user.launch_id and not LaunchStore(get_db()).consume(grant_user.launch_id):
            raise InvalidRequestError("This launch was already used; launch the app again.", redirect_uri=redirect_uri)
        return super().create_authorization_response(redirect_uri, grant_user)

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: SandboxUser = request.user
        data = request.payload.data
        CodeStore(get_db()).save(IssuedCode(
            code=code, client_id=request.client.client_id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope, nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), fhir_user=user.fhir_user,
            patient=user.patient, launch_context=user.context_json(), grant_id=secrets.token_urlsafe(16),
            auth_time=int(time.time()),
            expires_at=time.time() + int(current_app.config["SANDBOX_CODE_LIFETIME"]),
        ))

    def query_authorization_code(self, code: str, client: Any) -> IssuedCode | None:
        redemption = CodeStore(get_db()).redeem(code, client.client_id)
        if redemption.status == "used" and redemption.code:
            # RFC 6749 §4.1.2: a reused code is refused and the tokens issued from it are revoked.
            TokenStore(get_db()).revoke_grant(redemption.code.grant_id)
            raise InvalidGrantError("The code was already used; tokens issued from it are revoked.")
        if redemption.status == "expired":
            raise InvalidGrantError("The code has expired.")
        return redemption.code if redemption.status == "ok" else None

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing to do: `redeem` already marked the code used."""

    def authenticate_user(self, authorization_code: IssuedCode) -> SandboxUser:
        code = authorization_code
        return SandboxUser.from_stored(code.fhir_user, code.patient, code.launch_context, code.grant_id, code.auth_time)

    def generate_token(self, user: SandboxUser | None = None, **kwargs: Any) -> dict[str, Any]:
        token = super().generate_token(user=user, **kwargs)
        if user is not None:
            token.update(token_context(user))
        return token


class SmartRefreshGrant(grants.RefreshTokenGrant):
    """Refresh grant (SMART §"Step 7"): each refresh token works once and is replaced by a new one."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefresh | None:
        tokens = TokenStore(get_db())
        redemption = tokens.redeem_refresh(refresh_token, self.request.client.client_id)
        if redemption.status == "used" and redemption.token and redemption.token.grant_id:
            # RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole grant.
            tokens.revoke_grant(redemption.token.grant_id)
            raise InvalidGrantError("The refresh token was already used; the grant is revoked.")
        if redemption.status in ("used", "revoked"):
            raise InvalidGrantError("The refresh token is no longer valid.")
        return redemption.token

    def authenticate_user(self, refresh_token: IssuedRefresh) -> SandboxUser:
        token = refresh_token
        return SandboxUser.from_stored(token.fhir_user or "", token.patient, token.launch_context, token.grant_id)

    def revoke_old_credential(self, refresh_token: IssuedRefresh) -> None:
        """Nothing to do: `redeem_refresh` already marked it used."""

    def generate_token(self, user: SandboxUser | None = None, **kwargs: Any) -> dict[str, Any]:
        token = super().generate_token(user=user, **kwargs)
        if user is not None:
            token.update(token_context(user))
        return token


class SmartPkce(CodeChallenge):
    """PKCE with S256 on every request; `plain` and a missing challenge are refused (SMART §"Step 4", RFC 7636)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class SmartLaunch:
    """Checks `aud` and resolves an EHR launch's `launch` parameter to its context."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant: Any, redirect_uri: str) -> None:
        request = grant.request
        data = request.payload.data
        fhir_base = current_app.config["FHIR_BASE_URL"]
        # SMART §"Step 4": the EHR SHALL refuse an `aud` that is not its FHIR base URL.
        if (data.get("aud") or "").rstrip("/") != fhir_base:
            raise InvalidRequestError(f"aud must be this server's FHIR base URL: {fhir_base}")
        request.smart_launch = None
        launch_id = data.get("launch")
        if launch_id is None:
            return
        launch = LaunchStore(get_db()).get(launch_id)
        if launch is None:
            raise InvalidRequestError("Unknown, used or expired launch; launch the app from the EHR again.")
        if launch.launch_uri != request.client.launch_uri:
            raise InvalidRequestError("This launch was made for another app.")
        if not {"launch", "launch/patient"} & set((request.scope or "").split()):
            raise InvalidRequestError("An EHR launch needs the scope launch.")
        request.smart_launch = launch


def launch_of(grant: Any) -> Launch | None:
    """The EHR launch a validated authorization request carries, if any."""
    return getattr(grant.request, "smart_launch", None)


class SmartOpenIDCode(OpenIDCode):
    """id_token signed RS256 with the sandbox key; `fhirUser` is the user's absolute FHIR URL (SMART §"fhirUser")."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return CodeStore(get_db()).nonce_seen(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Any) -> Any:
        return current_app.extensions["sandbox_signing_key"]

    def get_client_algorithm(self, client: Any) -> str:
        return "RS256"

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": "RS256", "kid": current_app.extensions["sandbox_signing_key"].kid}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        return {"iss": current_app.config["FHIR_BASE_URL"], "aud": client.client_id}

    def generate_user_info(self, user: SandboxUser, scope: str) -> dict[str, Any]:
        info: dict[str, Any] = {"sub": user.fhir_user}
        if "fhirUser" in scope.split():
            info["fhirUser"] = f"{current_app.config['FHIR_BASE_URL']}/{user.fhir_user}"
        return info
