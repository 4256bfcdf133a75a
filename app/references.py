"""Who measured, which organisation is responsible and which device: FHIR references made into text.

A reference's `display` wins; otherwise a name from a lookup the caller passes (reference or `system|value`),
a contained resource's name, a labelled identifier (`HPR-nr. …`), or the reference itself.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from app.identifiers import HPR, ORGNR, RESH


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_IDENTIFIER_LABELS = {HPR: "HPR-nr. {}", ORGNR: "org.nr. {}", RESH: "RESH-id {}"}


def performers(refs: Any, lookup: Mapping[str, str], contained: dict) -> tuple[str | None, str | None]:
    """Who measured and the responsible organisation, from Observation.performer."""
    people, organisations = [], []
    for ref in refs if isinstance(refs, list) else []:
        name = describe(ref, lookup, contained)
        if name:
            (organisations if _is_organisation(ref, contained) else people).append(name)
    return (", ".join(people) or None, ", ".join(organisations) or None)


def _is_organisation(ref: dict, contained: dict) -> bool:
    reference = ref.get("reference") if isinstance(ref.get("reference"), str) else ""
    match = _REFERENCE.search(reference)
    kind = ref.get("type") or (match.group(1) if match else None)
    if reference.startswith("#") and reference[1:] in contained:
        kind = contained[reference[1:]].get("resourceType")
    identifier = ref.get("identifier") if isinstance(ref.get("identifier"), dict) else {}
    return kind == "Organization" or (kind is None and identifier.get("system") in (ORGNR, RESH))


def describe(ref: Any, lookup: Mapping[str, str], contained: dict) -> str | None:
    """A reference as text: its display, else a name the caller or a contained resource gives, else the reference."""
    if not isinstance(ref, dict):
        return None
    if isinstance(ref.get("display"), str) and ref["display"].strip():
        return ref["display"].strip()
    reference = ref.get("reference")
    if isinstance(reference, str) and reference:
        match = _REFERENCE.search(reference)
        relative = f"{match.group(1)}/{match.group(2)}" if match else reference
        if reference.startswith("#"):
            named = _name_of(contained.get(reference[1:]))
            if named:
                return named
        return lookup.get(reference) or lookup.get(relative) or reference
    identifier = ref.get("identifier")
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        system = identifier.get("system") if isinstance(identifier.get("system"), str) else None
        value = identifier["value"]
        return lookup.get(f"{system}|{value}") or _IDENTIFIER_LABELS.get(system, "{}").format(value)
    return None


def _name_of(resource: Any) -> str | None:
    if not isinstance(resource, dict):
        return None
    if isinstance(resource.get("name"), str):
        return resource["name"]
    for name in _list(resource.get("name")):
        if isinstance(name, dict):
            parts = [name.get("text")] if isinstance(name.get("text"), str) else [
                *_list(name.get("given")), name.get("family")]
            return " ".join(p for p in parts if isinstance(p, str) and p.strip()) or None
    for name in _list(resource.get("deviceName")):
        if isinstance(name, dict) and isinstance(name.get("name"), str) and name["name"].strip():
            return name["name"]
    return None
