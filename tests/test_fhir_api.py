"""The sandbox FHIR API over real HTTP and a real SQLite file, with hand-made resources and tokens."""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from smart.sandbox import create_sandbox
from smart.sandbox.db import connect
from smart.sandbox.store import FhirStore
from smart.sandbox.tokens import TokenStore
from tests.conftest import TEST_SECRET
from tests.servers import LiveServer

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITALS_SCOPE = f"patient/Observation.rs?category={CATEGORY}|vital-signs"
OSLO_WINTER = timezone(timedelta(hours=1))
START = datetime(2024, 1, 1, tzinfo=OSLO_WINTER)
FHIR_JSON = "application/fhir+json"


def _observation(oid: str, patient: str, when: datetime, kind: int, status: str = "final") -> dict[str, Any]:
    codes, category = [
        ([(LOINC, "8867-4"), (SNOMED, "364075005")], "vital-signs"),
        ([(LOINC, "29463-7")], "vital-signs"),
        ([(LOINC, "15074-8")], "laboratory"),
    ][kind]
    return {
        "resourceType": "Observation", "id": oid, "status": status,
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": s, "code": c} for s, c in codes]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when.isoformat(),
        "performer": [{"reference": "Practitioner/pr-1"}],
        "valueQuantity": {"value": 60 + kind},
    }


def _observations() -> list[dict[str, Any]]:
    """310 observations of patient a every 2 hours from 2024-01-01, 20 of patient b from February."""
    found = [_observation(f"a-{i}", "pat-a", START + timedelta(hours=2 * i), i % 3,
                          "preliminary" if i % 10 == 9 else "final") for i in range(310)]
    found += [_observation(f"b-{i}", "pat-b", START + timedelta(days=31, hours=5 * i), 0) for i in range(20)]
    return found


OBSERVATIONS = _observations()
OTHERS = [
    {"resourceType": "Organization", "id": "org-1", "name": "Solvik legekontor",
     "identifier": [{"system": ORGNR, "value": "987654321"}]},
    {"resourceType": "Organization", "id": "org-2", "name": "Fjellby sykehus",
     "identifier": [{"system": ORGNR, "value": "912345678"}]},
    {"resourceType": "Practitioner", "id": "pr-1", "identifier": [{"system": HPR, "value": "1234567"}],
     "name": [{"family": "Lege", "given": ["Liv"]}]},
    {"resourceType": "Practitioner", "id": "pr-2", "identifier": [{"system": HPR, "value": "7654321"}],
     "name": [{"family": "Pleier", "given": ["Per"]}]},
    {"resourceType": "PractitionerRole", "id": "role-1", "practitioner": {"reference": "Practitioner/pr-1"},
     "organization": {"reference": "Organization/org-1"}},
    {"resourceType": "PractitionerRole", "id": "role-2", "practitioner": {"reference": "Practitioner/pr-2"},
     "organization": {"reference": "Organization/org-2"}},
    {"resourceType": "Patient", "id": "pat-a", "identifier": [{"system": FNR, "value": "05837512345"}],
     "name": [{"family": "Nordmann", "given": ["Kari"]}], "birthDate": "1975-03-05",
     "generalPractitioner": [{"reference": "Practitioner/pr-1"}]},
    {"resourceType": "Patient", "id": "pat-b", "identifier": [{"system": FNR, "value": "17916012345"}],
     "name": [{"family": "Ås", "given": ["Øyvind"]}], "birthDate": "1960-11-17"},
    {"resourceType": "Condition", "id": "cond-a", "subject": {"reference": "Patient/pat-a"},
     "code": {"coding": [{"system": SNOMED, "code": "38341003"}]}},
    {"resourceType": "Observation", "id": "period-c", "status": "cancelled", "subject": {"reference": "Patient/pat-c"},
     "code": {"coding": [{"code": "no-system-code"}]},
     "effectivePeriod": {"start": "2024-03-10T08:00:00+01:00", "end": "2024-03-12T08:00:00+01:00"}},
]


@pytest.fixture(scope="module")
def fhir_sandbox(tmp_path_factory: pytest.TempPathFactory):
    """A sandbox serving only the resources above (stored before start-up, so nothing is generated)."""
    folder = tmp_path_factory.mktemp("fhir")
    database = connect(folder / "sandbox.sqlite")
    store = FhirStore(database)
    store.ensure_schema()
    store.put_many([*OTHERS, *OBSERVATIONS])
    database.conn.close()
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": TEST_SECRET, "SANDBOX_DENSE_OBSERVATIONS": 10}
    with LiveServer(lambda url: create_sandbox({**config, "SANDBOX_BASE_URL": url})) as server:
        yield server


@pytest.fixture(scope="module")
def issue(fhir_sandbox: LiveServer) -> Callable[..., str]:
    """Write a token straight into the sandbox's token table, the way its OAuth server would."""
    def issue_token(scope: str, patient: str | None = None, fhir_user: str | None = None,
                    expires_in: int = 3600) -> str:
        token = secrets.token_urlsafe(24)
        database = connect(fhir_sandbox.app.config["SANDBOX_DB_PATH"])
        try:
            TokenStore(database).save(token, client_id="test", scope=scope, expires_in=expires_in,
                                      patient=patient, fhir_user=fhir_user)
            database.conn.commit()
        finally:
            database.conn.close()
        return token
    return issue_token


@pytest.fixture(scope="module")
def clinician(issue: Callable[..., str]) -> str:
    """A practitioner's token (user/ scopes) that may read every patient."""
    return issue("openid fhirUser user/*.rs", fhir_user="Practitioner/pr-1")


@pytest.fixture(scope="module")
def fhir(fhir_sandbox: LiveServer) -> Callable[..., requests.Response]:
    """GET (or POST with data=) a path under the FHIR base with a bearer token."""
    def call(path: str, token: str | None = None, params: Any = None, data: Any = None,
             method: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        all_headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        verb = method or ("POST" if data is not None else "GET")
        return requests.request(verb, f"{fhir_sandbox.url}/fhir/{path}", params=params, data=data,
                                headers=all_headers, timeout=10)
    return call


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [entry["resource"]["id"] for entry in bundle["entry"]]


def when(observation: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(observation["effectiveDateTime"])


def day(text: str) -> datetime:
    """A wall-clock time in the server's zone (Europe/Oslo: +01:00 in winter, when every test date falls)."""
    return datetime.fromisoformat(text).replace(tzinfo=OSLO_WINTER)


def test_metadata_is_public_and_points_to_the_sandbox_oauth_endpoints(fhir, fhir_sandbox) -> None:
    response = fhir("metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["json"]
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {"authorize": f"{fhir_sandbox.url}/auth/authorize", "token": f"{fhir_sandbox.url}/auth/token"}
    observation = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Observation")
    assert {"patient", "code", "category", "date", "status"} <= {p["name"] for p in observation["searchParam"]}


@pytest.mark.parametrize("path", ["Patient/pat-a", "Practitioner/pr-2", "PractitionerRole/role-1",
                                  "Organization/org-2", "Observation/b-3", "Condition/cond-a"])
def test_read_returns_the_stored_resource(fhir, clinician, path) -> None:
    response = fhir(path, clinician)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert f"{response.json()['resourceType']}/{response.json()['id']}" == path


def test_read_of_an_unknown_id_is_404_operation_outcome(fhir, clinician) -> None:
    response = fhir("Observation/does-not-exist", clinician)
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(("path", "params", "expected"), [
    ("Practitioner", {"identifier": f"{HPR}|7654321"}, ["pr-2"]),
    ("Practitioner", {"identifier": "1234567"}, ["pr-1"]),
    ("Practitioner", {"name": "PER"}, ["pr-2"]),
    ("Organization", {"identifier": f"{ORGNR}|987654321"}, ["org-1"]),
    ("Organization", {"name": "fjell"}, ["org-2"]),
    ("PractitionerRole", {"practitioner": "Practitioner/pr-1"}, ["role-1"]),
    ("PractitionerRole", {"organization": "org-2"}, ["role-2"]),
    ("PractitionerRole", {"practitioner.identifier": f"{HPR}|7654321"}, ["role-2"]),
    ("Patient", {"identifier": f"{FNR}|17916012345"}, ["pat-b"]),
    ("Patient", {"name": "kari"}, ["pat-a"]),
    ("Patient", {"name": "ØYV"}, ["pat-b"]),
    ("Patient", {"family": "as"}, ["pat-b"]),
    ("Patient", {"_id": "pat-a,pat-b"}, ["pat-a", "pat-b"]),
    ("Patient", {"birthdate": "lt1970"}, ["pat-b"]),
    ("Patient", {"general-practitioner": "Practitioner/pr-1"}, ["pat-a"]),
    ("Condition", {"patient": "pat-a"}, ["cond-a"]),
    ("Condition", {"patient": "pat-b"}, []),
])
def test_search_finds_resources_by_each_parameter(fhir, clinician, path, params, expected) -> None:
    assert ids(fhir(path, clinician, params)) == expected


def _date_in(prefix: str, lo: datetime, hi: datetime) -> Callable[[datetime], bool]:
    """What each prefix means for an instant measured to the second."""
    return {
        "eq": lambda t: lo <= t < hi, "ne": lambda t: not lo <= t < hi, "gt": lambda t: t >= hi,
        "lt": lambda t: t < lo, "ge": lambda t: t >= lo, "le": lambda t: t < hi,
        "sa": lambda t: t >= hi, "eb": lambda t: t < lo,
    }[prefix]


def _has_code(o: dict[str, Any], system: str | None, code: str) -> bool:
    return any(c["code"] == code and system in (None, c.get("system")) for c in o["code"]["coding"])


PATIENT_A = [o for o in OBSERVATIONS if o["subject"]["reference"] == "Patient/pat-a"]


@pytest.mark.parametrize(("params", "matches"), [
    ({"patient": "pat-b"}, lambda o: o["id"].startswith("b-")),
    ({"subject": "Patient/pat-b"}, lambda o: o["id"].startswith("b-")),
    ({"subject": "pat-b"}, lambda o: o["id"].startswith("b-")),
    ({"patient": f"{'http://elsewhere.example/fhir'}/Patient/pat-b"}, lambda o: o["id"].startswith("b-")),
    ({"code": "8867-4"}, lambda o: _has_code(o, None, "8867-4")),
    ({"code": f"{LOINC}|8867-4"}, lambda o: _has_code(o, LOINC, "8867-4")),
    ({"code": f"{SNOMED}|364075005"}, lambda o: _has_code(o, SNOMED, "364075005")),
    ({"code": f"{SNOMED}|8867-4"}, lambda o: False),
    ({"code": "8867-4,29463-7"}, lambda o: _has_code(o, None, "8867-4") or _has_code(o, None, "29463-7")),
    ({"code": f"{LOINC}|"}, lambda o: True),
    ({"category": "laboratory"}, lambda o: o["category"][0]["coding"][0]["code"] == "laboratory"),
    ({"category": f"{CATEGORY}|vital-signs"}, lambda o: o["category"][0]["coding"][0]["code"] == "vital-signs"),
    ({"status": "preliminary"}, lambda o: o["status"] == "preliminary"),
    ({"status": "final,amended"}, lambda o: o["status"] == "final"),
    ({"_id": "a-1,b-2"}, lambda o: o["id"] in ("a-1", "b-2")),
    ({"performer": "Practitioner/pr-1", "patient": "pat-b"}, lambda o: o["id"].startswith("b-")),
])
def test_observation_search_matches_each_parameter(fhir, clinician, params, matches) -> None:
    found = ids(fhir("Observation", clinician, {**params, "_count": 1000}))
    assert sorted(found) == sorted(o["id"] for o in OBSERVATIONS if matches(o))


@pytest.mark.parametrize("prefix", ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"])
@pytest.mark.parametrize(("value", "lo", "hi"), [
    ("2024-01-05", day("2024-01-05"), day("2024-01-06")),
    ("2024-01", day("2024-01-01"), day("2024-02-01")),
    ("2024", day("2024-01-01"), day("2025-01-01")),
    ("2024-01-10T10:00:00+01:00", day("2024-01-10T10:00:00"), day("2024-01-10T10:00:01")),
    ("2024-01-10T09:00:00Z", day("2024-01-10T10:00:00"), day("2024-01-10T10:00:01")),
    ("2024-01-10T10:00", day("2024-01-10T10:00:00"), day("2024-01-10T10:01:00")),
])
def test_date_prefixes_follow_fhir_ranges(fhir, clinician, prefix, value, lo, hi) -> None:
    found = ids(fhir("Observation", clinician, {"patient": "pat-a", "date": prefix + value, "_count": 1000}))
    expected = [o["id"] for o in PATIENT_A if _date_in(prefix, lo, hi)(when(o))]
    assert sorted(found) == sorted(expected)


def test_repeated_date_parameters_are_anded(fhir, clinician) -> None:
    params = [("patient", "pat-a"), ("date", "ge2024-01-03"), ("date", "lt2024-01-04T12:00:00+01:00"),
              ("_count", "1000")]
    found = ids(fhir("Observation", clinician, params))
    expected = [o["id"] for o in PATIENT_A if day("2024-01-03") <= when(o) < day("2024-01-04T12:00:00")]
    assert sorted(found) == sorted(expected) and len(expected) == 18


def test_a_plus_sign_sent_unencoded_still_reads_as_an_offset(fhir, clinician, fhir_sandbox) -> None:
    url = f"{fhir_sandbox.url}/fhir/Observation?patient=pat-a&date=eq2024-01-10T10:00:00+01:00"
    found = ids(requests.get(url, headers={"Authorization": f"Bearer {clinician}"}, timeout=10))
    assert found == ["a-113"]


def test_a_period_matches_dates_it_overlaps_by_fhir_rules(fhir, clinician) -> None:
    def search(date: str) -> list[str]:
        return ids(fhir("Observation", clinician, {"code": "|no-system-code", "date": date}))
    assert search("eq2024-03") == ["period-c"]
    assert search("eq2024-03-11") == []
    assert search("ge2024-03-11") == ["period-c"]
    assert search("sa2024-03-10") == []


@pytest.mark.parametrize(("sort", "key", "reverse"), [
    ("date", lambda o: when(o), False), ("-date", lambda o: when(o), True), ("_id", lambda o: o["id"], False),
])
def test_sort_orders_the_results(fhir, clinician, sort, key, reverse) -> None:
    found = ids(fhir("Observation", clinician, {"patient": "pat-b", "_sort": sort}))
    expected = sorted((o for o in OBSERVATIONS if o["id"].startswith("b-")), key=key, reverse=reverse)
    assert found == [o["id"] for o in expected]


def test_count_limits_the_page_and_total_counts_every_match(fhir, clinician, fhir_sandbox) -> None:
    bundle = fhir("Observation", clinician, {"patient": "pat-b", "_count": 5}).json()
    assert len(bundle["entry"]) == 5 and bundle["total"] == 20
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["next"].startswith(f"{fhir_sandbox.url}/fhir/Observation?")
    assert fhir("Observation", clinician, {"patient": "pat-b", "_count": 0}).json()["total"] == 20


def test_count_above_the_maximum_is_capped_at_1000(fhir, clinician) -> None:
    bundle = fhir("Observation", clinician, {"patient": "pat-a", "_count": 5000}).json()
    assert len(bundle["entry"]) == 310
    assert "_count=1000" in bundle["link"][0]["url"]


def test_default_page_size_comes_from_the_setting(fhir, clinician, fhir_sandbox) -> None:
    bundle = fhir("Observation", clinician, {"patient": "pat-a"}).json()
    assert len(bundle["entry"]) == fhir_sandbox.app.config["SANDBOX_PAGE_SIZE"]


def test_paging_returns_every_match_exactly_once(fhir, clinician, fhir_sandbox) -> None:
    response = fhir("Observation", clinician, {"patient": "pat-a", "_sort": "-date", "_count": 7})
    seen: list[str] = []
    pages = 0
    while True:
        seen += ids(response)
        pages += 1
        next_links = [link["url"] for link in response.json()["link"] if link["relation"] == "next"]
        if not next_links:
            break
        assert next_links[0].startswith(f"{fhir_sandbox.url}/fhir/")
        response = requests.get(next_links[0], headers={"Authorization": f"Bearer {clinician}"}, timeout=10)
    expected = sorted(PATIENT_A, key=when, reverse=True)
    assert seen == [o["id"] for o in expected]
    assert pages == 45 and len(set(seen)) == 310


def test_entries_carry_full_urls_and_match_mode(fhir, clinician, fhir_sandbox) -> None:
    entry = fhir("Observation", clinician, {"_id": "b-1"}).json()["entry"][0]
    assert entry["fullUrl"] == f"{fhir_sandbox.url}/fhir/Observation/b-1"
    assert entry["search"] == {"mode": "match"}


def test_national_store_search_shape_by_national_id(fhir, clinician) -> None:
    form = [("patient.identifier", f"{FNR}|05837512345"), ("code", f"{LOINC}|8867-4"),
            ("date", "ge2024-01-02"), ("date", "lt2024-01-04"), ("_count", "1000")]
    found = ids(fhir("Observation/_search", clinician, data=form))
    expected = [o["id"] for o in PATIENT_A
                if _has_code(o, LOINC, "8867-4") and day("2024-01-02") <= when(o) < day("2024-01-04")]
    assert sorted(found) == sorted(expected) and len(expected) == 8


def test_post_search_combines_url_and_form_parameters(fhir, clinician) -> None:
    response = fhir("Observation/_search?patient=pat-b", clinician, data={"_id": "b-1,a-1"})
    assert ids(response) == ["b-1"]


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz"])
def test_no_token_is_401_with_a_bearer_challenge(fhir, fhir_sandbox, header) -> None:
    response = fhir("Observation", headers={"Authorization": header} if header else None)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    # RFC 6750 §3.1: no error code when the request carried no token at all.
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{fhir_sandbox.url}/fhir"'


@pytest.mark.parametrize("kind", ["unknown", "expired", "malformed", "empty"])
def test_a_bad_token_is_401_invalid_token(fhir, issue, kind) -> None:
    token = {"unknown": "not-a-token-we-issued", "expired": issue("user/*.rs", expires_in=-1),
             "malformed": "bad token\u00e6", "empty": ""}[kind]
    header = f"Bearer {token}" if token else "Bearer"
    response = fhir("Patient/pat-a", headers={"Authorization": header.encode()})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["issue"][0]["code"] == "login"


@pytest.fixture(scope="module")
def patient_a(issue: Callable[..., str]) -> str:
    """A token of a standalone patient launch for patient a."""
    return issue("openid fhirUser launch/patient patient/*.rs", patient="pat-a", fhir_user="Patient/pat-a")


@pytest.mark.parametrize("path", ["Observation/b-1", "Patient/pat-b"])
def test_patient_token_cannot_see_another_patients_resource(fhir, patient_a, path) -> None:
    response = fhir(path, patient_a)
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize("params", [
    {"patient": "pat-b"}, {"subject": "Patient/pat-b"}, {"patient": "pat-a,pat-b"},
    {"patient.identifier": f"{FNR}|17916012345"}, {"patient.identifier": f"{FNR}|00000000000"},
])
def test_patient_token_searching_another_patient_is_403(fhir, patient_a, params) -> None:
    response = fhir("Observation", patient_a, params)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_patient_token_search_without_patient_sees_only_its_own(fhir, patient_a) -> None:
    assert sorted(ids(fhir("Observation", patient_a, {"_count": 1000}))) == sorted(o["id"] for o in PATIENT_A)
    assert ids(fhir("Patient", patient_a)) == ["pat-a"]
    national = fhir("Observation/_search", patient_a, data={"patient.identifier": f"{FNR}|05837512345"})
    assert national.json()["total"] == 310


def test_patient_token_reads_its_own_data_and_the_directory(fhir, patient_a) -> None:
    for path in ("Patient/pat-a", "Observation/a-5", "Practitioner/pr-2", "Organization/org-1"):
        assert fhir(path, patient_a).status_code == 200


def test_user_token_reads_any_patient(fhir, clinician) -> None:
    assert fhir("Observation/b-1", clinician).status_code == 200
    assert fhir("Observation", clinician, {"patient": "pat-b"}).json()["total"] == 20


def test_v1_read_scope_is_honoured(fhir, issue) -> None:
    token = issue("launch patient/Observation.read", patient="pat-a")
    assert fhir("Observation/a-1", token).status_code == 200
    assert fhir("Observation", token, {"patient": "pat-a"}).json()["total"] == 310
    assert fhir("Patient/pat-a", token).status_code == 403


@pytest.mark.parametrize(("scope", "path", "params"), [
    ("patient/Patient.rs", "Observation", {"patient": "pat-a"}),
    ("patient/Patient.rs", "Observation/a-1", None),
    ("openid fhirUser", "Observation", None),
    ("user/Observation.r", "Observation", {"patient": "pat-a"}),
    ("user/Observation.s", "Observation/a-1", None),
    ("user/Observation.cud", "Observation/a-1", None),
])
def test_insufficient_scope_is_403(fhir, issue, scope, path, params) -> None:
    response = fhir(path, issue(scope, patient="pat-a"), params)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_fhir_user_may_read_itself_without_a_resource_scope(fhir, issue) -> None:
    token = issue("openid fhirUser launch", patient="pat-a", fhir_user="Practitioner/pr-1")
    assert fhir("Practitioner/pr-1", token).json()["id"] == "pr-1"
    assert fhir("Practitioner/pr-2", token).status_code == 403


def test_fhir_user_may_read_own_roles_and_their_organisation_but_no_others(fhir, issue) -> None:
    token = issue("openid fhirUser launch", patient="pat-a", fhir_user="Practitioner/pr-1")
    roles = fhir("PractitionerRole", token, {"practitioner": "Practitioner/pr-1"})
    assert ids(roles) == ["role-1"]
    assert fhir("Organization/org-1", token).json()["name"] == "Solvik legekontor"
    assert fhir("Organization/org-2", token).status_code == 403
    assert fhir("PractitionerRole", token, {"practitioner": "Practitioner/pr-2"}).status_code == 403
    assert fhir("PractitionerRole", token, {"organization": "Organization/org-1"}).status_code == 403


def test_category_scope_limits_search_and_read_to_that_category(fhir, issue) -> None:
    token = issue(f"launch {VITALS_SCOPE}", patient="pat-a")
    found = ids(fhir("Observation", token, {"_count": 1000}))
    assert sorted(found) == sorted(o["id"] for o in PATIENT_A if o["category"][0]["coding"][0]["code"] == "vital-signs")
    assert ids(fhir("Observation", token, {"category": "vital-signs", "_id": "a-0,a-2"})) == ["a-0"]
    assert fhir("Observation", token, {"category": "laboratory"}).status_code == 403
    assert fhir("Observation/a-2", token).status_code == 403
    assert fhir("Observation/a-1", token).status_code == 200


@pytest.mark.parametrize(("param", "value"), [
    ("date", "2024-13-01"), ("date", "2024-02-30"), ("date", "yesterday"), ("date", "ap2024-01-01"),
    ("date", "ge2024-01-05T25:00:00+01:00"), ("date", "2024-01-05T10:00:00+15:00"),
    ("_count", "ten"), ("_count", "-1"), ("_offset", "x"), ("_sort", "value"), ("_sort", "birthdate"),
    ("colour", "blue"), ("code", "a|b|c"), ("code", "|"), ("code:text", "pulse"),
    ("subject", "Practitioner/pr-1"), ("patient", "not an id"), ("patient.name", "Kari"), ("_id", "a b"),
])
def test_malformed_search_parameter_is_400_naming_it(fhir, clinician, param, value) -> None:
    response = fhir("Observation", clinician, {param: value})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "invalid"
    assert f"'{param}'" in body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["Medication", "Medication/1", "observation"])
def test_unknown_resource_type_is_400(fhir, clinician, path) -> None:
    response = fhir(path, clinician)
    assert response.status_code == 400
    assert "resource type" in response.json()["issue"][0]["diagnostics"]


def test_invalid_id_is_400(fhir, clinician) -> None:
    response = fhir("Observation/" + "x" * 65, clinician)
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(("method", "path"), [("POST", "Observation"), ("DELETE", "Observation/a-1"),
                                              ("PUT", "Patient/pat-a")])
def test_writes_are_405(fhir, clinician, method, path) -> None:
    response = fhir(path, clinician, method=method)
    assert response.status_code == 405 and response.json()["resourceType"] == "OperationOutcome"


def test_oversized_search_body_is_413(fhir, clinician) -> None:
    response = fhir("Observation/_search", clinician, data={"code": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"


def test_post_search_with_a_json_body_is_415(fhir, clinician) -> None:
    response = fhir("Observation/_search", clinician, data='{"code": "8867-4"}',
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 415


@pytest.mark.parametrize(("fmt", "status"), [("json", 200), ("application/fhir+json", 200), ("xml", 406)])
def test_format_parameter(fhir, clinician, fmt, status) -> None:
    assert fhir("Patient", clinician, {"_format": fmt}).status_code == status


def test_unknown_paths_under_fhir_are_404_operation_outcome(fhir, clinician) -> None:
    response = fhir("Observation/a-1/_history/1", clinician)
    assert response.status_code == 404 and response.json()["resourceType"] == "OperationOutcome"


def test_store_puts_thirty_thousand_resources_quickly(tmp_path: Path) -> None:
    store = FhirStore(connect(tmp_path / "bulk.sqlite"))
    store.ensure_schema()
    many = (_observation(f"bulk-{i}", f"p-{i % 50}", START + timedelta(minutes=i), i % 3) for i in range(30_000))
    started = time.perf_counter()
    assert store.put_many(many) == 30_000
    assert time.perf_counter() - started < 10
    assert store.search("Observation", {"patient": "p-7", "_count": "0"}).total == 600
    store.put_many([{**_observation("bulk-7", "p-8", START, 2)}])
    assert store.search("Observation", {"patient": "p-7", "_count": "0"}).total == 599
    assert store.search("Observation", {"_id": "bulk-7", "category": "vital-signs"}).total == 0
