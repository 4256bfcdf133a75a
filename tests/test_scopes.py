"""SMART scopes as permissions (App Launch 2.2 "Scopes and Launch Context"), v1 and v2 syntax."""
from __future__ import annotations

import pytest

from smart.sandbox import scopes
from smart.sandbox.scopes import Permission, parse_scope
from smart.sandbox.tokens import AccessGrant

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITALS = (CATEGORY, "vital-signs")
LAB = (CATEGORY, "laboratory")


def grant(scope: str, patient: str | None = "pat-1") -> AccessGrant:
    return AccessGrant("client", scope, patient, None, 2_000_000_000)


@pytest.mark.parametrize(("scope", "expected"), [
    ("patient/Observation.rs", Permission("patient", "Observation", frozenset("rs"))),
    ("user/*.rs", Permission("user", "*", frozenset("rs"))),
    ("system/Patient.cruds", Permission("system", "Patient", frozenset("cruds"))),
    ("patient/Observation.s", Permission("patient", "Observation", frozenset("s"))),
    ("patient/Observation.read", Permission("patient", "Observation", frozenset("rs"))),
    ("user/*.read", Permission("user", "*", frozenset("rs"))),
    ("patient/*.write", Permission("patient", "*", frozenset("cud"))),
    ("patient/*.*", Permission("patient", "*", frozenset("cruds"))),
    (f"patient/Observation.rs?category={CATEGORY}|vital-signs",
     Permission("patient", "Observation", frozenset("rs"), (VITALS,))),
    ("patient/Observation.rs?category=vital-signs", Permission("patient", "Observation", frozenset("rs"),
                                                                ((None, "vital-signs"),))),
    (f"patient/Observation.rs?category={CATEGORY}|vital-signs&category={CATEGORY}|laboratory",
     Permission("patient", "Observation", frozenset("rs"), (VITALS, LAB))),
])
def test_resource_scopes_parse_into_permissions(scope, expected) -> None:
    assert parse_scope(scope) == expected


@pytest.mark.parametrize("scope", [
    "openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access", "profile",
    "patient/Observation.sr",          # v2 letters must come in the order c r u d s
    "patient/Observation.rr",
    "patient/Observation.x",
    "patient/Observation.",
    "patient/observation.rs",          # resource types are capitalised
    "practitioner/Observation.rs",     # unknown context
    "patient/Observation.read?category=vital-signs",  # v1 has no restrictions
    "patient/Observation.rs?code=8867-4",  # a restriction the sandbox cannot enforce grants nothing
    "patient/Observation.rs?category=",
    "patient/Observation.rs?",
    "",
])
def test_other_and_malformed_scopes_grant_no_resource_access(scope) -> None:
    assert parse_scope(scope) is None


@pytest.mark.parametrize(("scope", "rtype", "interaction", "expected"), [
    ("patient/Observation.rs", "Observation", "read", True),
    ("patient/Observation.rs", "Observation", "search", True),
    ("patient/Observation.rs", "Observation", "create", False),
    ("patient/Observation.rs", "Patient", "read", False),
    ("patient/Observation.r", "Observation", "search", False),
    ("patient/Observation.s", "Observation", "read", False),
    ("patient/Observation.read", "Observation", "search", True),
    ("patient/Observation.write", "Observation", "read", False),
    ("patient/Observation.write", "Observation", "update", True),
    ("patient/*.rs", "Condition", "read", True),
    ("user/*.read", "Practitioner", "search", True),
    ("openid fhirUser launch", "Practitioner", "read", False),
    ("openid patient/Patient.rs user/Practitioner.rs", "Practitioner", "vread", True),
    ("patient/Observation.rs", "Observation", "r", True),
    ("patient/Observation.rs", "Observation", "d", False),
])
def test_allows_checks_type_and_interaction(scope, rtype, interaction, expected) -> None:
    assert scopes.allows(grant(scope), rtype, interaction) is expected
    assert scopes.allows(scope, rtype, interaction) is expected


def test_patient_scopes_need_a_patient_in_context() -> None:
    assert scopes.allows(grant("patient/Observation.rs", patient="pat-1"), "Observation", "read")
    assert not scopes.allows(grant("patient/Observation.rs", patient=None), "Observation", "read")
    assert scopes.allows(grant("user/Observation.rs", patient=None), "Observation", "read")


VITALS_SCOPE = f"patient/Observation.rs?category={CATEGORY}|vital-signs"


@pytest.mark.parametrize(("scope", "category", "expected"), [
    (VITALS_SCOPE, VITALS, True),
    (VITALS_SCOPE, [LAB, VITALS], True),
    (VITALS_SCOPE, f"{CATEGORY}|vital-signs", True),
    (VITALS_SCOPE, LAB, False),
    (VITALS_SCOPE, ("http://other.example/categories", "vital-signs"), False),
    (VITALS_SCOPE, None, False),            # categories unknown: only an unrestricted scope allows
    (VITALS_SCOPE, [], False),
    ("patient/Observation.rs?category=vital-signs", ("http://other.example/categories", "vital-signs"), True),
    ("patient/Observation.rs", LAB, True),
    ("patient/Observation.rs", None, True),
    (f"{VITALS_SCOPE} patient/Observation.rs?category={CATEGORY}|laboratory", LAB, True),
])
def test_category_restrictions(scope, category, expected) -> None:
    assert scopes.allows(grant(scope), "Observation", "read", category=category) is expected


@pytest.mark.parametrize(("scope", "expected"), [
    (VITALS_SCOPE, (VITALS,)),
    (f"{VITALS_SCOPE} patient/Observation.rs?category={CATEGORY}|laboratory", (VITALS, LAB)),
    (f"{VITALS_SCOPE} user/Observation.rs", None),
    ("patient/Observation.rs", None),
    ("patient/Patient.rs", None),
])
def test_category_filter_is_the_union_of_restricted_scopes(scope, expected) -> None:
    assert scopes.category_filter(grant(scope), "Observation", "search") == expected


@pytest.mark.parametrize(("scope", "expected"), [
    ("patient/Observation.rs", True),
    ("patient/*.rs user/Observation.rs", False),
    ("user/*.read", False),
    ("patient/Patient.rs", False),  # nothing permits it at all
])
def test_patient_only(scope, expected) -> None:
    assert scopes.patient_only(grant(scope), "Observation", "search") is expected


@pytest.mark.parametrize(("requested", "allowed", "expected"), [
    ((None, "vital-signs"), [VITALS], True),
    (VITALS, [VITALS], True),
    (VITALS, [(None, "vital-signs")], True),
    (LAB, [VITALS], False),
    (("http://other.example", "vital-signs"), [VITALS], False),
])
def test_fits(requested, allowed, expected) -> None:
    assert scopes.fits(requested, allowed) is expected


def test_unknown_interaction_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        scopes.allows("user/*.rs", "Observation", "patch")


CLIENT = "launch launch/patient openid fhirUser online_access patient/*.rs user/*.read"


@pytest.mark.parametrize(("requested", "expected"), [
    ("launch openid fhirUser", "launch openid fhirUser"),
    (f"launch/patient {VITALS_SCOPE} patient/Patient.rs", f"launch/patient {VITALS_SCOPE} patient/Patient.rs"),
    ("patient/Observation.read user/Observation.rs", "patient/Observation.read user/Observation.rs"),
    ("patient/Observation.cruds", "patient/Observation.rs"),
    ("user/Observation.cud", ""),
    ("offline_access system/*.rs profile", ""),
    ("openid openid", "openid"),
])
def test_narrow_keeps_only_what_the_client_may_have(requested, expected) -> None:
    assert scopes.narrow(requested, CLIENT) == expected


def test_narrow_respects_category_limits_of_the_client() -> None:
    client = VITALS_SCOPE
    assert scopes.narrow(VITALS_SCOPE, client) == VITALS_SCOPE
    assert scopes.narrow("patient/Observation.rs", client) == ""
    assert scopes.narrow(f"patient/Observation.rs?category={CATEGORY}|laboratory", client) == ""


@pytest.mark.parametrize(("scope", "expected"), [
    ("openid offline_access", True), ("online_access", True), ("openid fhirUser patient/*.rs", False), ("", False),
])
def test_has_refresh(scope, expected) -> None:
    assert scopes.has_refresh(scope) is expected


@pytest.mark.parametrize(("scope", "norwegian", "english"), [
    ("openid", "Bekrefte hvem du er", "Confirm who you are"),
    ("patient/Observation.rs", "Lese målinger for denne pasienten", "Read measurements for this patient"),
    (VITALS_SCOPE, "Lese målinger for denne pasienten (bare kategori vital-signs)",
     "Read measurements for this patient (category vital-signs only)"),
    ("user/*.cud", "Opprette, endre og slette alle opplysninger som du har tilgang til",
     "Create, update and delete all data that you can access"),
    ("made-up", "Ukjent tilgang", "Unknown permission"),
])
def test_describe_in_bokmal_then_english(scope, norwegian, english) -> None:
    assert scopes.describe(scope) == (norwegian, english)
