"""A scriptable SMART EHR for the launch client's tests: records every request it receives.

Several EHRs share one server, each under `/<ehr>/` (`/<ehr>/fhir` is the issuer): `v1` has no
smart-configuration (CapabilityStatement only, no `permission-v2`), `relative` announces relative endpoint URLs, `down` answers 503.
`behaviour` switches the answers (token errors, id_token faults, refresh without a new refresh token).
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

from flask import Flask, Response, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "pasientens-maledata"
PATIENT_ID = "pat-1"
PRACTITIONER = {
    "resourceType": "Practitioner",
    "id": "prac-1",
    "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144889"}],
    "name": [{"use": "official", "family": "Lege", "given": ["Kari"]}],
}
ROLE = {
    "resourceType": "PractitionerRole",
    "id": "role-1",
    "practitioner": {"reference": "Practitioner/prac-1"},
    "organization": {"reference": "Organization/org-1"},
    "code": [{"text": "Fastlege"}],
}
ORGANIZATION = {
    "resourceType": "Organization",
    "id": "org-1",
    "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "974600951"}],
    "name": "Bydel Legekontor",
}
PATIENT = {"resourceType": "Patient", "id": PATIENT_ID, "name": [{"family": "Hansen", "given": ["Ola"]}]}
OTHER_PATIENT = {"resourceType": "Patient", "id": "pat-2", "name": [{"family": "Hansen", "given": ["Per"]}]}
DEFAULTS: dict[str, Any] = {
    "token_error": None,  # (status, json body) to answer the token endpoint with
    "id_token": "good",  # good | missing | bad_signature | wrong_nonce | wrong_aud | wrong_iss | expired | no_fhir_user
    "fhir_user": "relative",  # relative | absolute | elsewhere (absolute on another server) | unknown
    # | role_absolute (a PractitionerRole naming its Practitioner by absolute URL)
    # | patient (the launched Patient signs in) | other_patient (Patient/pat-2) | patient_elsewhere (on another server)
    "context_patient": PATIENT_ID,  # `patient` in the token response (None: none sent)
    "expires_in": 3600,
    "refresh_returns_refresh_token": True,
    "granted_scope": None,  # None: echo the requested scope
    "intent": None,  # launch context `intent` in the token response (e.g. "emergency")
}


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeEhr:
    """State shared by the fake's routes; tests read `requests` and set `behaviour`."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
        self.requests: list[dict[str, Any]] = []
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.behaviour = dict(DEFAULTS)
        self.url = ""

    def reset(self) -> None:
        self.requests.clear()
        self.behaviour = dict(DEFAULTS)

    def issuer(self, ehr: str) -> str:
        return f"{self.url}/{ehr}/fhir"

    def seen(self, path_suffix: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith(path_suffix)]

    def build(self, url: str) -> Flask:
        self.url = url
        app = Flask("fake_ehr")
        app.before_request(self._record)
        app.add_url_rule("/<ehr>/fhir/.well-known/smart-configuration", view_func=self.smart_configuration)
        app.add_url_rule("/<ehr>/fhir/.well-known/openid-configuration", view_func=self.openid_configuration)
        app.add_url_rule("/<ehr>/fhir/metadata", view_func=self.metadata)
        app.add_url_rule("/<ehr>/auth/authorize", view_func=self.authorize)
        app.add_url_rule("/<ehr>/auth/token", view_func=self.token, methods=["POST"])
        app.add_url_rule("/<ehr>/auth/jwks", view_func=self.jwks)
        app.add_url_rule("/<ehr>/fhir/<rtype>/<rid>", view_func=self.read)
        app.add_url_rule("/<ehr>/fhir/PractitionerRole", view_func=self.roles)
        return app

    def _record(self) -> None:
        self.requests.append(
            {"path": request.path, "args": request.args.to_dict(), "form": request.form.to_dict(),
             "headers": dict(request.headers)}
        )

    def smart_configuration(self, ehr: str) -> Response:
        if ehr == "v1":
            return Response("not found", status=404)
        if ehr == "down":
            return Response("maintenance", status=503)
        prefix = "../auth" if ehr == "relative" else f"{self.url}/{ehr}/auth"
        return jsonify({
            "issuer": self.issuer(ehr),
            "jwks_uri": f"{prefix}/jwks",
            "authorization_endpoint": f"{prefix}/authorize",
            "token_endpoint": f"{prefix}/token",
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
            "capabilities": ["launch-ehr", "launch-standalone", "sso-openid-connect", "permission-v2"],
            "code_challenge_methods_supported": [] if ehr == "nopkce" else ["S256"],
        })

    def openid_configuration(self, ehr: str) -> Response:
        return jsonify({"issuer": self.issuer(ehr), "jwks_uri": f"{self.url}/{ehr}/auth/jwks"})

    def metadata(self, ehr: str) -> Response:
        if ehr == "down":
            return Response("maintenance", status=503)
        return jsonify({
            "resourceType": "CapabilityStatement",
            "rest": [{"mode": "server", "security": {"extension": [{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [
                    {"url": "authorize", "valueUri": f"{self.url}/{ehr}/auth/authorize"},
                    {"url": "token", "valueUri": f"{self.url}/{ehr}/auth/token"},
                ],
            }]}}],
        })

    def authorize(self, ehr: str) -> Response:
        code = secrets.token_urlsafe(16)
        self.codes[code] = dict(request.args.to_dict(), ehr=ehr)
        return redirect(f"{request.args['redirect_uri']}?code={code}&state={request.args['state']}")

    def jwks(self, ehr: str) -> Response:
        return jsonify({"keys": [self.key.as_dict(private=False)]})

    def token(self, ehr: str) -> Response:
        if self.behaviour["token_error"]:
            status, body = self.behaviour["token_error"]
            return Response(body, status=status, mimetype="application/json") if isinstance(body, str) else (
                jsonify(body), status)
        if request.form.get("grant_type") == "refresh_token":
            return self._refresh()
        grant = self.codes.pop(request.form.get("code", ""), None)
        if grant is None or _s256(request.form.get("code_verifier", "")) != grant.get("code_challenge"):
            return jsonify({"error": "invalid_grant", "error_description": "bad code or code_verifier"}), 400
        body = self._tokens(grant.get("scope", ""))
        body.update({"need_patient_banner": False, "smart_style_url": f"{self.url}/style.json"})
        if self.behaviour["context_patient"]:
            body["patient"] = self.behaviour["context_patient"]
        if self.behaviour["intent"]:
            body["intent"] = self.behaviour["intent"]
        id_token = self._id_token(ehr, grant.get("nonce", ""))
        if id_token:
            body["id_token"] = id_token
        return jsonify(body)

    def _tokens(self, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.behaviour["expires_in"],
                "scope": self.behaviour["granted_scope"] or scope, "refresh_token": refresh}

    def _refresh(self) -> Response:
        if request.form.get("refresh_token") not in self.refresh_tokens:
            return jsonify({"error": "invalid_grant"}), 400
        body = self._tokens("")
        if not self.behaviour["refresh_returns_refresh_token"]:
            del body["refresh_token"]
        del body["scope"]
        return jsonify(body)

    def _id_token(self, ehr: str, nonce: str) -> str | None:
        fault = self.behaviour["id_token"]
        if fault == "missing":
            return None
        now = int(time.time())
        fhir_user = "Practitioner/prac-1"
        if self.behaviour["fhir_user"] == "absolute":
            fhir_user = f"{self.issuer(ehr)}/Practitioner/prac-1"
        elif self.behaviour["fhir_user"] == "elsewhere":
            fhir_user = "https://directory.example/fhir/Practitioner/prac-1"
        elif self.behaviour["fhir_user"] == "unknown":
            fhir_user = "Practitioner/nobody"
        elif self.behaviour["fhir_user"] == "role_absolute":
            fhir_user = "PractitionerRole/role-abs"
        elif self.behaviour["fhir_user"] == "patient":
            fhir_user = f"Patient/{PATIENT_ID}"
        elif self.behaviour["fhir_user"] == "other_patient":
            fhir_user = "Patient/pat-2"
        elif self.behaviour["fhir_user"] == "patient_elsewhere":
            fhir_user = f"https://directory.example/fhir/Patient/{PATIENT_ID}"
        claims = {
            "iss": "https://elsewhere.example/fhir" if fault == "wrong_iss" else self.issuer(ehr),
            "aud": "someone-else" if fault == "wrong_aud" else CLIENT_ID,
            "sub": "prac-1",
            "iat": now,
            "exp": now - 600 if fault == "expired" else now + 300,
            "nonce": "not-the-nonce" if fault == "wrong_nonce" else nonce,
            "fhirUser": fhir_user,
        }
        if fault == "no_fhir_user":
            del claims["fhirUser"]
        key = self.other_key if fault == "bad_signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key, algorithms=["RS256"])

    def read(self, ehr: str, rtype: str, rid: str) -> Response:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return jsonify({"resourceType": "OperationOutcome"}), 401
        if rtype == "PractitionerRole" and rid == "role-abs":
            return jsonify({**ROLE, "id": rid, "practitioner": {"reference": f"{self.issuer(ehr)}/Practitioner/prac-1"}})
        for resource in (PRACTITIONER, ORGANIZATION, PATIENT, OTHER_PATIENT, ROLE):
            if resource["resourceType"] == rtype and resource["id"] == rid:
                return jsonify(resource)
        return jsonify({"resourceType": "OperationOutcome"}), 404

    def roles(self, ehr: str) -> Response:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return jsonify({"resourceType": "OperationOutcome"}), 401
        matches = [ROLE] if request.args.get("practitioner") in ("Practitioner/prac-1", "prac-1") else []
        return jsonify({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in matches]})
