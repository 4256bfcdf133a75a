"""Registrations by exact issuer and by prefix, stored in SQLite next to the TOML ones, and visible to a running
app (another connection, as another process would be) on the next lookup."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.ehr_store import DuplicateRegistration, EhrStore
from smart.registry import CombinedRegistry, Registration, TomlEhrRegistry, resolve

SIM = "https://launch.smarthealthit.org/v/r4/sim"


def _prefix(url: str, client_id: str = "p") -> Registration:
    return Registration(url, client_id, match="prefix")


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A registration store in a fresh file, closed after the test."""
    opened = EhrStore(tmp_path / "registry.sqlite")
    yield opened
    opened.close()


@pytest.fixture()
def toml(tmp_path: Path) -> TomlEhrRegistry:
    """One pre-registered EHR from a TOML file."""
    path = tmp_path / "ehrs.toml"
    path.write_text('[[ehr]]\nissuer = "https://ehr.example/fhir"\nclient_id = "from-toml"\n')
    return TomlEhrRegistry(path, {})


def test_prefix_matches_issuers_under_it_and_answers_with_the_concrete_issuer() -> None:
    found = resolve([_prefix(SIM)], f"{SIM}/WzMsIiJd/fhir/")
    assert found is not None
    assert found.issuer == f"{SIM}/WzMsIiJd/fhir"
    assert found.registered_issuer == SIM and found.key == SIM


@pytest.mark.parametrize("iss", [
    "https://launch.smarthealthit.org/v/r4/simulator/fhir",  # not a whole path segment
    "https://launch.smarthealthit.org/v/r4/fhir",
    f"{SIM}/../../r5/fhir",
    f"{SIM}/x/%2e%2e/fhir",
    f"{SIM}/x/fhir?evil=1",
    "https://launch.smarthealthit.org.evil.example/v/r4/sim/x/fhir",
])
def test_prefix_does_not_match_outside_its_path(iss: str) -> None:
    assert resolve([_prefix(SIM)], iss) is None


def test_exact_registration_beats_a_prefix_and_the_longest_prefix_wins() -> None:
    exact = Registration(f"{SIM}/abc/fhir", "exact-client")
    registrations = [_prefix(SIM, "short"), _prefix(f"{SIM}/abc", "long"), exact]
    assert resolve(registrations, f"{SIM}/abc/fhir").client_id == "exact-client"  # type: ignore[union-attr]
    assert resolve(registrations, f"{SIM}/abc/site2/fhir").client_id == "long"  # type: ignore[union-attr]
    assert resolve(registrations, f"{SIM}/xyz/fhir").client_id == "short"  # type: ignore[union-attr]


def test_toml_may_register_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "ehrs.toml"
    path.write_text(f'[[ehr]]\nissuer = "{SIM}/"\nclient_id = "x"\nmatch = "prefix"\n')
    assert TomlEhrRegistry(path, {}).find(f"{SIM}/s/fhir") is not None


def test_stored_registration_round_trips_and_logs_who_added_it(store: EhrStore) -> None:
    registration = Registration("https://EHR2.example/fhir/", "c2", frame_origins=("https://ehr2.example",),
                                auth_method="client_secret_basic", secret_env="EHR2_SECRET")
    store.add(registration, "cli:tester")
    stored = store.get("https://ehr2.example/fhir")
    assert stored is not None and stored.source == "stored"
    assert stored.issuer == "https://ehr2.example/fhir"
    assert stored.frame_origins == ("https://ehr2.example",)
    assert stored.secret_env == "EHR2_SECRET"
    [change] = store.changes()
    assert (change["actor"], change["action"], change["subject"]) == ("cli:tester", "ehr.add", "https://ehr2.example/fhir")


def test_duplicate_is_refused_and_nothing_is_logged_for_it(store: EhrStore) -> None:
    store.add(Registration("https://ehr2.example/fhir", "c2"), "cli:a")
    with pytest.raises(DuplicateRegistration):
        store.add(Registration("https://ehr2.example/fhir/", "other"), "cli:b")
    assert [c["actor"] for c in store.changes()] == ["cli:a"]
    assert store.get("https://ehr2.example/fhir").client_id == "c2"  # type: ignore[union-attr]


def test_remove_is_logged_and_unknown_is_false(store: EhrStore) -> None:
    store.add(Registration("https://ehr2.example/fhir", "c2"), "cli:a")
    assert store.remove("https://ehr2.example/fhir", "admin:alice") is True
    assert store.remove("https://ehr2.example/fhir", "admin:alice") is False
    assert store.get("https://ehr2.example/fhir") is None
    assert [c["action"] for c in store.changes()] == ["ehr.remove", "ehr.add"]


def test_a_registration_made_elsewhere_is_seen_on_the_next_lookup(tmp_path: Path, toml: TomlEhrRegistry) -> None:
    running, other = EhrStore(tmp_path / "r.sqlite"), EhrStore(tmp_path / "r.sqlite")
    try:
        registry = CombinedRegistry(toml, running)
        assert registry.find("https://ehr2.example/fhir") is None
        other.add(Registration("https://ehr2.example/fhir", "c2"), "cli:a")
        assert registry.find("https://ehr2.example/fhir").client_id == "c2"  # type: ignore[union-attr]
        other.remove("https://ehr2.example/fhir", "cli:a")
        assert registry.find("https://ehr2.example/fhir") is None
        assert registry.find("https://ehr.example/fhir").client_id == "from-toml"  # type: ignore[union-attr]
    finally:
        running.close()
        other.close()


def test_registered_does_not_match_by_prefix(store: EhrStore, toml: TomlEhrRegistry) -> None:
    store.add(_prefix(SIM), "cli:a")
    registry = CombinedRegistry(toml, store)
    assert registry.registered(SIM + "/") is not None
    assert registry.registered(f"{SIM}/x/fhir") is None
    assert registry.find(f"{SIM}/x/fhir") is not None
    assert {r.source for r in registry.all()} == {"config", "stored"}
