"""SMART scopes as permissions: parse v1 (`patient/Observation.read`) and v2 (`patient/Observation.rs`,
with `?category=system|code` restrictions) resource scopes and answer what a token may do.

SMART App Launch 2.2, "Scopes and Launch Context" (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Protocol, Union
from urllib.parse import parse_qsl

INTERACTIONS = {"create": "c", "read": "r", "vread": "r", "update": "u", "delete": "d", "search": "s"}
V1_ACTIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
# v2 permissions are a subset of c, r, u, d, s written in that order (§ "Scopes for requesting FHIR resources").
_V2 = re.compile(r"c?r?u?d?s?")
_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([^?]+)(?:\?(.*))?")

Category = tuple[str | None, str]  # (system or None for any, code)
CategoryArg = Union[None, str, Category, Iterable[Category]]


class HasScope(Protocol):
    scope: str
    patient: str | None


@dataclass(frozen=True)
class Permission:
    """One resource scope: context, resource type (or '*'), interactions and category restrictions."""

    context: str
    resource_type: str
    interactions: frozenset[str]
    categories: tuple[Category, ...] = ()  # empty: unrestricted; else any one of these

    def covers(self, resource_type: str, interaction: str) -> bool:
        return self.resource_type in ("*", resource_type) and interaction in self.interactions

    def admits(self, categories: tuple[Category, ...] | None) -> bool:
        """Whether a resource with these categories (None: unknown) is within the restriction."""
        if not self.categories:
            return True
        return categories is not None and any(_fits(c, r) for c in categories for r in self.categories)


def parse_scope(scope: str) -> Permission | None:
    """The permission one resource scope grants, or None for other scopes and malformed ones."""
    match = _SCOPE.fullmatch(scope)
    if not match:
        return None
    context, rtype, action, query = match.groups()
    if action in V1_ACTIONS and query is None:
        return Permission(context, rtype, V1_ACTIONS[action])
    if not _V2.fullmatch(action):
        return None
    categories: list[Category] = []
    for name, value in parse_qsl(query or "", keep_blank_values=True):
        if name != "category" or not value:
            return None  # a restriction we cannot enforce grants nothing (fail closed)
        system, bar, code = value.rpartition("|")
        categories.append((system if bar else None, code))
    if query is not None and not categories:
        return None
    return Permission(context, rtype, frozenset(action), tuple(categories))


def permissions(grant: HasScope | str) -> list[Permission]:
    """Usable resource permissions of a grant: patient/ scopes count only with a patient in context
    (a bare scope string is taken to have one)."""
    scope, has_patient = (grant, True) if isinstance(grant, str) else (grant.scope or "", bool(grant.patient))
    found = [p for s in scope.split() if (p := parse_scope(s)) is not None]
    return [p for p in found if p.context != "patient" or has_patient]


def covering(grant: HasScope | str, resource_type: str, interaction: str) -> list[Permission]:
    """The usable permissions for an interaction on a type, whatever their category restrictions."""
    letter = _letter(interaction)
    return [p for p in permissions(grant) if p.covers(resource_type, letter)]


def allows(grant: HasScope | str, resource_type: str, interaction: str, category: CategoryArg = None) -> bool:
    """Whether the grant permits `interaction` (read, search, ... or r, s, ...) on the type.

    `category` is the resource's categories; None means they are not known, which only an
    unrestricted scope allows.
    """
    return bool(_matching(grant, resource_type, interaction, category))


def patient_only(grant: HasScope | str, resource_type: str, interaction: str, category: CategoryArg = None) -> bool:
    """True when only patient/ scopes permit this, so access is limited to the patient's compartment."""
    matching = _matching(grant, resource_type, interaction, category)
    return bool(matching) and all(p.context == "patient" for p in matching)


def category_filter(grant: HasScope | str, resource_type: str, interaction: str) -> tuple[Category, ...] | None:
    """Categories a search is limited to, or None when some permitting scope is unrestricted."""
    found = covering(grant, resource_type, interaction)
    if not found or any(not p.categories for p in found):
        return None
    return tuple(dict.fromkeys(c for p in found for c in p.categories))


def fits(requested: Category, allowed: Iterable[Category]) -> bool:
    """Whether a requested category (system None: any) lies within one of the allowed ones."""
    return any(requested[1] == code and (system is None or requested[0] in (None, system))
               for system, code in allowed)


def _matching(grant: HasScope | str, resource_type: str, interaction: str, category: CategoryArg) -> list[Permission]:
    wanted = _categories(category)
    return [p for p in covering(grant, resource_type, interaction) if p.admits(wanted)]


def _fits(actual: Category, restriction: Category) -> bool:
    return actual[1] == restriction[1] and restriction[0] in (None, actual[0])


def _letter(interaction: str) -> str:
    letter = INTERACTIONS.get(interaction, interaction)
    if letter not in "cruds" or len(letter) != 1:
        raise ValueError(f"unknown interaction {interaction!r}")
    return letter


def _categories(category: CategoryArg) -> tuple[Category, ...] | None:
    if category is None:
        return None
    if isinstance(category, str):
        system, bar, code = category.rpartition("|")
        return ((system if bar else None, code),)
    if isinstance(category, tuple) and len(category) == 2 and isinstance(category[1], str):
        return (category,)  # type: ignore[return-value]
    return tuple(category)  # type: ignore[arg-type]


# --- the authorization server's side: what a client may be granted and how the consent page shows it ---

REFRESH_SCOPES = {"offline_access", "online_access"}
_PLAIN = {
    "openid": ("Bekrefte hvem du er", "Confirm who you are"),
    "fhirUser": ("Vite hvem du er (helsepersonell eller pasient)", "Know who you are (your FHIR user)"),
    "profile": ("Se navnet ditt", "See your name"),
    "launch": ("Åpnes fra journalsystemet med det som er valgt der", "Open from the EHR with its current context"),
    "launch/patient": ("Velge en pasient ved oppstart", "Choose a patient at launch"),
    "online_access": ("Beholde tilgangen mens du er innlogget", "Keep access while you are signed in"),
    "offline_access": ("Beholde tilgangen etter at du har logget ut", "Keep access after you sign out"),
}
_TYPES = {
    "*": ("alle opplysninger", "all data"), "Observation": ("målinger", "measurements"),
    "Patient": ("pasientopplysninger", "patient details"), "Practitioner": ("helsepersonell", "practitioners"),
    "PractitionerRole": ("roller til helsepersonell", "practitioner roles"),
    "Organization": ("organisasjoner", "organisations"), "Condition": ("diagnoser", "conditions"),
    "Device": ("måleutstyr", "devices"),
}
_CONTEXTS = {"patient": ("for denne pasienten", "for this patient"),
             "user": ("som du har tilgang til", "that you can access"),
             "system": ("for systemet", "for the system")}
_VERBS = {"c": ("opprette", "create"), "r": ("lese", "read"), "u": ("endre", "update"),
          "d": ("slette", "delete"), "s": ("søke i", "search")}


def has_refresh(scope: str) -> bool:
    """Whether a grant gets a refresh token: with offline_access or online_access (App Launch §scopes)."""
    return bool(REFRESH_SCOPES & set(scope.split()))


def narrow(requested: str, allowed: str) -> str:
    """The requested scopes within what a client may have, in request order; resource scopes are
    cut down to the interactions an allowed scope covers (the server may grant less than asked)."""
    allowed_names = set(allowed.split())
    limits = [p for s in allowed_names if (p := parse_scope(s)) is not None]
    granted: list[str] = []
    for scope in dict.fromkeys(requested.split()):
        wanted = parse_scope(scope)
        if scope in allowed_names and (wanted is not None or scope in _PLAIN):
            granted.append(scope)
        elif wanted is not None:
            covering = [p for p in limits if p.context == wanted.context
                        and p.resource_type in ("*", wanted.resource_type) and _within(wanted, p)]
            letters = wanted.interactions & frozenset().union(*(p.interactions for p in covering))
            if letters == wanted.interactions:
                granted.append(scope)
            elif letters:
                query = scope.partition("?")[2]
                ordered = "".join(c for c in "cruds" if c in letters)
                granted.append(f"{wanted.context}/{wanted.resource_type}.{ordered}" + (f"?{query}" if query else ""))
    return " ".join(granted)


def describe(scope: str) -> tuple[str, str]:
    """A scope in words for the consent page: (Norwegian bokmål, English)."""
    if scope in _PLAIN:
        return _PLAIN[scope]
    permission = parse_scope(scope)
    if permission is None:
        return "Ukjent tilgang", "Unknown permission"
    letters = permission.interactions - ({"s"} if "r" in permission.interactions else set())
    verbs = [verb for letter, verb in _VERBS.items() if letter in letters]
    what = _TYPES.get(permission.resource_type, (permission.resource_type, permission.resource_type))
    where = _CONTEXTS[permission.context]
    nb = f"{_listing([v[0] for v in verbs], 'og')} {what[0]} {where[0]}"
    en = f"{_listing([v[1] for v in verbs], 'and')} {what[1]} {where[1]}"
    if permission.categories:
        codes = ", ".join(code for _, code in permission.categories)
        nb, en = f"{nb} (bare kategori {codes})", f"{en} (category {codes} only)"
    return nb, en


def _within(wanted: Permission, limit: Permission) -> bool:
    """Whether the wanted scope's category restriction is no wider than the limit's."""
    if not limit.categories:
        return True
    return bool(wanted.categories) and all(fits(c, limit.categories) for c in wanted.categories)


def _listing(words: list[str], conjunction: str) -> str:
    """'Read', 'Create and read', 'Create, read and update' (capitalised)."""
    text = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
    return text[:1].upper() + text[1:]
