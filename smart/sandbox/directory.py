"""The sandbox's people as the EHR pages show them: patients and practitioners from the FHIR store,
with names, national identifiers, HPR numbers and organisations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smart.sandbox.store import FhirStore

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
KINDS = ("Patient", "Practitioner")


@dataclass(frozen=True)
class Person:
    """A patient or practitioner: `ref` is `Patient/<id>` or `Practitioner/<id>`."""

    ref: str
    name: str
    identifier: str
    birth_date: str
    organisations: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.ref.split("/", 1)[0]

    @property
    def id(self) -> str:
        return self.ref.split("/", 1)[1]


def display_name(resource: dict[str, Any]) -> str:
    """`text` of the official (or first) HumanName, else given names and family."""
    names = resource.get("name") or []
    if not names:
        return f"{resource.get('resourceType')}/{resource.get('id')}"
    name = next((n for n in names if n.get("use") == "official"), names[0])
    if name.get("text"):
        return str(name["text"])
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or str(resource.get("id"))


def _identifier(resource: dict[str, Any], *systems: str) -> str:
    for system in systems:
        for identifier in resource.get("identifier") or []:
            if identifier.get("system") == system and identifier.get("value"):
                return str(identifier["value"])
    return ""


def _concept_text(concept: dict[str, Any] | None) -> str:
    if not concept:
        return ""
    return concept.get("text") or next((c.get("display", "") for c in concept.get("coding", []) if c.get("display")), "")


def patients(store: FhirStore, *, with_conditions: bool = False) -> list[Person]:
    """Every patient, by name; with their conditions when asked (one indexed search each)."""
    people = []
    for resource in store.all("Patient"):
        conditions: tuple[str, ...] = ()
        if with_conditions:
            found = store.search("Condition", {"patient": resource["id"]}).resources
            conditions = tuple(t for t in (_concept_text(c.get("code")) for c in found) if t)
        people.append(Person(f"Patient/{resource['id']}", display_name(resource),
                             _identifier(resource, FNR, DNR), resource.get("birthDate", ""), conditions=conditions))
    return sorted(people, key=lambda p: (p.name, p.ref))


def practitioners(store: FhirStore) -> list[Person]:
    """Every practitioner, by name, with HPR number and the organisations and roles of their PractitionerRoles."""
    organisations = {f"Organization/{o['id']}": o.get("name", o["id"]) for o in store.all("Organization")}
    roles: dict[str, list[tuple[str, str]]] = {}
    for role in store.all("PractitionerRole"):
        who = (role.get("practitioner") or {}).get("reference", "")
        org = organisations.get((role.get("organization") or {}).get("reference", ""), "")
        title = ", ".join(t for t in (_concept_text(c) for c in role.get("code") or []) if t)
        roles.setdefault(who, []).append((org, title))
    people = []
    for resource in store.all("Practitioner"):
        ref = f"Practitioner/{resource['id']}"
        mine = roles.get(ref, [])
        people.append(Person(ref, display_name(resource), _identifier(resource, HPR), resource.get("birthDate", ""),
                             organisations=tuple(o for o, _ in mine if o), roles=tuple(r for _, r in mine if r)))
    return sorted(people, key=lambda p: (p.name, p.ref))


def find(store: FhirStore, ref: str | None) -> Person | None:
    """The Patient or Practitioner a reference like `Practitioner/abc` names, or None."""
    if not ref or ref.count("/") != 1:
        return None
    kind, rid = ref.split("/")
    if kind not in KINDS or not rid:
        return None
    resource = store.read(kind, rid)
    if resource is None:
        return None
    return Person(ref, display_name(resource), _identifier(resource, FNR, DNR, HPR), resource.get("birthDate", ""))
