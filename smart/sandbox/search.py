"""Parse a FHIR search request's parameters into a `Query` the store can run, or a `SearchError`
naming the parameter at fault (http://hl7.org/fhir/R4/search.html).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

from smart.sandbox.search_params import ID_PATTERN, PARAMS, Param, date_range, normalize_text, reference_key

MAX_COUNT = 1000
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
IGNORED = {"_format", "_pretty", "_total"}  # accepted, no effect on the result set
SORT_KEYS = {"_id", "date", "birthdate"}


class SearchError(ValueError):
    """A search parameter the sandbox cannot honour; `param` names it for the OperationOutcome."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Token:
    """A token search value: `system` None matches any system, '' means no system; `code` None any code."""

    system: str | None
    code: str | None


@dataclass(frozen=True)
class DateValue:
    prefix: str
    lo: float
    hi: float


@dataclass(frozen=True)
class Clause:
    """One search parameter occurrence; its values are OR-ed, separate clauses are AND-ed.

    `identifiers` set means a chained `<reference>.identifier` search on the referenced resource.
    """

    param: str
    kind: str
    values: tuple[Any, ...] = ()
    targets: tuple[str, ...] = ()
    identifiers: tuple[Token, ...] = ()


@dataclass(frozen=True)
class Limit:
    """What one SMART scope lets a search see: one patient's compartment and/or some categories."""

    patient: str | None = None
    categories: tuple[tuple[str | None, str], ...] = ()  # (system or None for any, code)


@dataclass(frozen=True)
class Query:
    """A parsed search: clauses, sort keys, page window and the scope limits (OR-ed; none: unlimited)."""

    resource_type: str
    clauses: tuple[Clause, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()  # (key, descending); key is "_id" or "date"
    count: int = 50
    offset: int = 0
    limits: tuple[Limit, ...] = ()

    def limited(self, limits: Iterable[Limit]) -> "Query":
        """The same query, seeing only what one of the limits allows."""
        return replace(self, limits=tuple(limits))


def parse(resource_type: str, items: Iterable[tuple[str, str]], *, default_count: int = 50) -> Query:
    """Build the query for `GET [type]?items`; empty values are ignored (R4 search.html#2.1.1.1)."""
    known = PARAMS[resource_type]
    clauses: list[Clause] = []
    sort: tuple[tuple[str, bool], ...] = ()
    count, offset = default_count, 0
    for name, value in items:
        if value == "" or name in IGNORED:
            continue
        if name == "_count":
            count = min(_natural(name, value), MAX_COUNT)
        elif name == "_offset":
            offset = _natural(name, value)
        elif name == "_sort":
            sort = _sort(resource_type, value)
        else:
            clauses.append(_clause(known, name, value))
    return Query(resource_type, tuple(clauses), sort, count, offset)


def _clause(known: dict[str, Param], name: str, value: str) -> Clause:
    base, _, chain = name.partition(".")
    base, _, modifier = base.partition(":")
    param = known.get(base)
    if param is None:
        raise SearchError(name, f"Unknown search parameter '{name}'.")
    if modifier and not (param.kind in ("reference", "patient") and modifier in param.targets):
        raise SearchError(name, f"Modifier ':{modifier}' in '{name}' is not supported.")
    targets = (modifier,) if modifier else param.targets
    if chain:
        if param.kind not in ("reference", "patient") or chain != "identifier":
            raise SearchError(name, f"Chained search '{name}' is not supported (only <reference>.identifier).")
        return Clause(base, param.kind, (), targets, tuple(_tokens(name, value)))
    parts = _split(value, ",")
    if param.kind == "id":
        if not all(ID_PATTERN.fullmatch(p) for p in parts):
            raise SearchError(name, f"Invalid id in '{name}': '{value}'.")
        return Clause(base, "id", tuple(parts))
    if param.kind == "token":
        return Clause(base, "token", tuple(_tokens(name, value)))
    if param.kind == "string":
        return Clause(base, "string", tuple(normalize_text(_unescape(p)) for p in parts))
    if param.kind == "date":
        return Clause(base, "date", tuple(_date(name, p) for p in parts))
    refs = tuple(r for p in parts for r in _reference(name, p, targets))
    if param.kind == "patient":
        return Clause(base, "patient", tuple(r.split("/")[1] for r in refs), targets)
    return Clause(base, "reference", refs, targets)


def _tokens(name: str, value: str) -> list[Token]:
    """`code`, `system|code`, `|code` (no system) and `system|` (any code), comma-separated."""
    tokens = []
    for part in _split(value, ","):
        pieces = _split(part, "|")
        if len(pieces) > 2 or pieces == ["", ""]:
            raise SearchError(name, f"Invalid token in '{name}': '{part}' (use code, system|code or |code).")
        if len(pieces) == 1:
            tokens.append(Token(None, _unescape(pieces[0])))
        else:
            tokens.append(Token(_unescape(pieces[0]), _unescape(pieces[1]) or None))
    return tokens


def _reference(name: str, value: str, targets: tuple[str, ...]) -> list[str]:
    value = _unescape(value)
    if ID_PATTERN.fullmatch(value):
        return [f"{t}/{value}" for t in targets]
    key = reference_key(value)
    if key is None or key.split("/")[0] not in targets:
        allowed = ", ".join(targets)
        raise SearchError(name, f"Invalid reference in '{name}': '{value}' (expected id or Type/id of {allowed}).")
    return [key]


def _date(name: str, value: str) -> DateValue:
    match = re.fullmatch(r"([a-z]{2})?(.*)", value, flags=re.S)
    prefix, text = (match.group(1) or "eq"), match.group(2)
    if prefix not in DATE_PREFIXES:
        raise SearchError(name, f"Unsupported date prefix '{prefix}' in '{name}' (use {', '.join(DATE_PREFIXES)}).")
    try:
        lo, hi = date_range(text)
    except (ValueError, OverflowError):
        raise SearchError(name, f"Invalid date in '{name}': '{value}' (use YYYY, YYYY-MM, YYYY-MM-DD "
                                "or YYYY-MM-DDThh:mm:ss+hh:mm, optionally after a prefix such as ge).") from None
    return DateValue(prefix, lo, hi)


def _sort(resource_type: str, value: str) -> tuple[tuple[str, bool], ...]:
    keys = []
    for part in value.split(","):
        key = part.removeprefix("-")
        if key not in SORT_KEYS or (key != "_id" and PARAMS[resource_type].get(key, Param("")).kind != "date"):
            raise SearchError("_sort", f"'_sort' cannot order {resource_type} by '{part}' (use _id or its date).")
        keys.append(("date" if key != "_id" else "_id", part.startswith("-")))
    return tuple(keys)


def _natural(name: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise SearchError(name, f"'{name}' must be a whole number ≥ 0, not '{value}'.")
    return int(value)


def _split(value: str, separator: str) -> list[str]:
    """Split on separators not escaped with a backslash (R4 search.html#escaping)."""
    return re.split(r"(?<!\\)" + re.escape(separator), value)


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,|$])", r"\1", value)

