"""The synthetic data served over real HTTP: a citizen's token, got through the sandbox's own OAuth flow with a
public client and PKCE, pages through the dense patient's year of Observations and sees every one exactly once."""
from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import requests

from smart.sandbox import search
from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from smart.sandbox.synthetic import DENSE_PATIENT_ID
from tests.servers import LiveServer

CLIENT = "pasientens-maledata-public"
REDIRECT = "http://127.0.0.1:8000/callback"  # the registered redirect (APP_BASE_URL default); never visited


def _citizen_token(sandbox: LiveServer, patient: str) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = requests.get(f"{sandbox.url}/auth/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "state": "s1",
        "scope": "launch/patient patient/Observation.rs openid fhirUser", "aud": f"{sandbox.url}/fhir",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "login_hint": f"Patient/{patient}", "prompt": "none"})
    assert authorize.status_code == 302, authorize.text[:300]
    code = parse_qs(urlsplit(authorize.headers["Location"]).query)["code"][0]
    token = requests.post(f"{sandbox.url}/auth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT,
        "code_verifier": verifier}).json()
    assert token["patient"] == patient
    return token["access_token"]


def _stored_count(sandbox: LiveServer, patient: str) -> int:
    db = connect(sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        query = search.parse("Observation", [("patient", patient), ("_count", "1")])
        return FhirStore(db).search("Observation", query).total
    finally:
        db.conn.close()


def test_paging_through_the_dense_patient_returns_every_observation_exactly_once(sandbox: LiveServer) -> None:
    token = _citizen_token(sandbox, DENSE_PATIENT_ID)
    headers = {"Authorization": f"Bearer {token}"}
    url: str | None = f"{sandbox.url}/fhir/Observation?patient={DENSE_PATIENT_ID}&_count=1000&_sort=date"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = requests.get(url, headers=headers, timeout=30).json()
        pages += 1
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        assert url is None or url.startswith(f"{sandbox.url}/fhir/")
    assert len(seen) >= 20000 and pages == -(-len(seen) // 1000)
    assert len(set(seen)) == len(seen) == bundle["total"] == _stored_count(sandbox, DENSE_PATIENT_ID)


def test_the_dense_patient_token_sees_no_other_patient(sandbox: LiveServer) -> None:
    token = _citizen_token(sandbox, DENSE_PATIENT_ID)
    headers = {"Authorization": f"Bearer {token}"}
    other = requests.get(f"{sandbox.url}/fhir/Observation", params={"patient": "pas-01"}, headers=headers)
    assert other.status_code == 403 and other.json()["resourceType"] == "OperationOutcome"
    assert requests.get(f"{sandbox.url}/fhir/Patient/pas-01", headers=headers).status_code in (403, 404)
    assert requests.get(f"{sandbox.url}/fhir/Observation/obs-pas-01-000001", headers=headers).status_code == 404


def test_store_holds_the_synthetic_population(sandbox: LiveServer) -> None:
    db = connect(sandbox.app.config["SANDBOX_DB_PATH"])
    try:
        store = FhirStore(db)
        patients, orgs = store.all("Patient"), store.all("Organization")
    finally:
        db.conn.close()
    assert len(patients) >= 13
    assert {o["name"] for o in orgs} >= {"Asker kommune", "Drammen kommune", "Vestre Viken HF"}
