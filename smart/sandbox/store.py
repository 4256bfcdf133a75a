"""The sandbox's FHIR resources in SQLite: one row per resource plus index rows for token, reference
and string search parameters, so that searches are indexed lookups (the only SQL of the FHIR API).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import islice
from typing import Any, Iterable, Mapping

import sqlite_utils

from smart.sandbox import search
from smart.sandbox.search import Clause, DateValue, Limit, Query, Token
from smart.sandbox.search_params import ID_PATTERN, index_entries, patient_of

RESOURCES = "fhir_resources"
INDEX = "fhir_search_index"
BATCH = 5000
@dataclass(frozen=True)
class SearchResult:
    """One page of matches and the number of matches in all pages."""

    total: int
    resources: list[dict[str, Any]]
    query: Query


class FhirStore:
    """Upsert, read and search FHIR R4 resources (dicts with `resourceType` and `id`)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if RESOURCES not in self.db.table_names():
            self.db[RESOURCES].create(
                {"type": str, "id": str, "json": str, "patient": str, "date_lo": float, "date_hi": float},
                pk=("type", "id"),
            )
            self.db[RESOURCES].create_index(["type", "patient", "date_lo", "id"])
            self.db[RESOURCES].create_index(["type", "date_lo", "id"])
        # One B-tree keyed for lookups; replaced resources have their old rows recomputed and deleted.
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {INDEX} (type TEXT NOT NULL, param TEXT NOT NULL, code TEXT NOT NULL, "
            "system TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (type, param, code, system, id)) WITHOUT ROWID"
        )

    def is_empty(self) -> bool:
        return self.db.execute(f"SELECT 1 FROM {RESOURCES} LIMIT 1").fetchone() is None

    def put_many(self, resources: Iterable[dict[str, Any]]) -> int:
        """Insert or replace resources in one transaction, in batches; returns how many were written."""
        written = 0
        iterator = iter(resources)
        conn = self.db.conn
        with conn:
            while batch := list(islice(iterator, BATCH)):
                rows, index_rows = [], []
                for resource in batch:
                    rtype, rid = resource.get("resourceType"), resource.get("id")
                    if not isinstance(rtype, str) or not isinstance(rid, str) or not ID_PATTERN.fullmatch(rid):
                        raise ValueError(f"resource needs a resourceType and a valid id: {rtype}/{rid}")
                    span, entries = index_entries(resource)
                    lo, hi = span or (None, None)
                    rows.append((rtype, rid, json.dumps(resource, separators=(",", ":")), patient_of(resource), lo, hi))
                    index_rows.extend((rtype, param, code, system, rid) for param, system, code in entries)
                conn.executemany(f"DELETE FROM {INDEX} WHERE type = ? AND param = ? AND code = ? AND system = ? "
                                 "AND id = ?", self._stale_index_rows([row[:2] for row in rows]))
                conn.executemany(f"INSERT OR REPLACE INTO {RESOURCES} VALUES (?, ?, ?, ?, ?, ?)", rows)
                conn.executemany(f"INSERT OR IGNORE INTO {INDEX} VALUES (?, ?, ?, ?, ?)", index_rows)
                written += len(rows)
        return written

    def _stale_index_rows(self, keys: list[tuple[str, str]]) -> list[tuple[str, str, str, str, str]]:
        """Index rows of the stored versions of resources about to be replaced."""
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        stale = []
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                sql = f"SELECT json FROM {RESOURCES} WHERE type = ? AND id IN ({', '.join('?' * len(chunk))})"
                for (text,) in self.db.execute(sql, [rtype, *chunk]):
                    old = json.loads(text)
                    stale.extend((rtype, p, c, s, old["id"]) for p, s, c in index_entries(old)[1])
        return stale

    def read(self, resource_type: str, id: str) -> dict[str, Any] | None:
        row = self.db.execute(f"SELECT json FROM {RESOURCES} WHERE type = ? AND id = ?", [resource_type, id]).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, resource_type: str) -> list[dict[str, Any]]:
        """Every resource of a (small) type, ordered by id."""
        sql = f"SELECT json FROM {RESOURCES} WHERE type = ? ORDER BY id"
        return [json.loads(row[0]) for row in self.db.execute(sql, [resource_type])]

    def search(self, resource_type: str, params: Query | Mapping[str, str | list[str]]) -> SearchResult:
        """Run a parsed query, or parse `params` first (raising search.SearchError when malformed)."""
        query = params if isinstance(params, Query) else search.parse(resource_type, _items(params))
        where, args = self._where(query)
        total = self.db.execute(f"SELECT count(*) FROM {RESOURCES} r WHERE {where}", args).fetchone()[0]
        if query.count == 0:
            return SearchResult(total, [], query)
        sql = f"SELECT r.json FROM {RESOURCES} r WHERE {where} ORDER BY {_order(query)} LIMIT ? OFFSET ?"
        rows = self.db.execute(sql, [*args, query.count, query.offset])
        return SearchResult(total, [json.loads(row[0]) for row in rows], query)

    def identified(self, resource_type: str, tokens: Iterable[Token]) -> list[str]:
        """Ids of resources of a type with one of these identifiers (resolves chained searches)."""
        cond, args = _token_condition("i", tuple(tokens))
        sql = f"SELECT DISTINCT i.id FROM {INDEX} i WHERE i.type = ? AND i.param = 'identifier' AND {cond} ORDER BY 1"
        return [row[0] for row in self.db.execute(sql, [resource_type, *args])]

    def _where(self, query: Query) -> tuple[str, list[Any]]:
        parts, args = ["r.type = ?"], [query.resource_type]
        if query.limits:
            sql, limit_args = _limits_sql(query.resource_type, query.limits)
            parts.append(sql)
            args.extend(limit_args)
        for clause in query.clauses:
            sql, clause_args = _clause_sql(query.resource_type, clause)
            parts.append(sql)
            args.extend(clause_args)
        return " AND ".join(parts), args


def _clause_sql(rtype: str, clause: Clause) -> tuple[str, list[Any]]:
    """SQL for one clause; index lookups are uncorrelated subqueries SQLite evaluates once."""
    marks = ", ".join("?" * len(clause.values))
    if clause.kind == "id":
        return f"r.id IN ({marks})", list(clause.values)
    if clause.kind == "date":
        dates = [_date_sql(v) for v in clause.values]
        return "(" + " OR ".join(sql for sql, _ in dates) + ")", [x for _, args in dates for x in args]
    lookup = f"r.id IN (SELECT t.id FROM {INDEX} t WHERE t.type = ? AND t.param = ? AND "
    if clause.identifiers:
        cond, args = _token_condition("i", clause.identifiers)
        targets = ", ".join("?" * len(clause.targets))
        chosen = (f"SELECT i.type || '/' || i.id FROM {INDEX} i WHERE i.type IN ({targets}) "
                  f"AND i.param = 'identifier' AND {cond}")
        if clause.kind == "patient":
            return f"r.patient IN (SELECT i.id FROM {INDEX} i WHERE i.type = 'Patient' AND i.param = 'identifier' " \
                   f"AND {cond})", args
        return lookup + f"t.code IN ({chosen}))", [rtype, clause.param, *clause.targets, *args]
    if clause.kind == "patient":
        return f"r.patient IN ({marks})", list(clause.values)
    if clause.kind == "reference":
        return lookup + f"t.code IN ({marks}))", [rtype, clause.param, *clause.values]
    if clause.kind == "string":
        cond = " OR ".join(["t.code LIKE ? ESCAPE '\\'"] * len(clause.values))
        return lookup + f"({cond}))", [rtype, clause.param, *(_like_prefix(v) for v in clause.values)]
    cond, args = _token_condition("t", clause.values)
    return lookup + cond + ")", [rtype, clause.param, *args]


def _limits_sql(rtype: str, limits: tuple[Limit, ...]) -> tuple[str, list[Any]]:
    """OR of the scope limits: each a patient compartment and/or a set of categories."""
    alternatives, args = [], []
    for limit in limits:
        parts = []
        if limit.patient is not None:
            parts.append("r.patient = ?")
            args.append(limit.patient)
        if limit.categories:
            sql, category_args = _clause_sql(rtype, Clause("category", "token", tuple(
                Token(system, code) for system, code in limit.categories)))
            parts.append(sql)
            args.extend(category_args)
        alternatives.append("(" + (" AND ".join(parts) or "1") + ")")
    return "(" + " OR ".join(alternatives) + ")", args


def _token_condition(alias: str, tokens: tuple[Token, ...]) -> tuple[str, list[Any]]:
    """OR of token values: code, system|code, |code (no system), system| (R4 search.html#token)."""
    conds, args = [], []
    for token in tokens:
        parts = []
        if token.code is not None:
            parts.append(f"{alias}.code = ?")
            args.append(token.code)
        if token.system is not None:
            parts.append(f"{alias}.system = ?")
            args.append(token.system)
        conds.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(conds) + ")", args


def _date_sql(value: DateValue) -> tuple[str, list[float]]:
    """A prefixed date over the resource's range [date_lo, date_hi) and the value's [a, b) (R4 search.html#prefix)."""
    a, b = value.lo, value.hi
    within = "(r.date_lo >= ? AND r.date_hi <= ?)"
    sql, args = {
        "eq": (within, [a, b]),
        "ne": ("NOT " + within, [a, b]),
        "gt": ("r.date_hi > ?", [b]),
        "lt": ("r.date_lo < ?", [a]),
        "ge": (f"(r.date_hi > ? OR {within})", [b, a, b]),
        "le": (f"(r.date_lo < ? OR {within})", [a, a, b]),
        "sa": ("r.date_lo >= ?", [b]),
        "eb": ("r.date_hi <= ?", [a]),
    }[value.prefix]
    return f"(r.date_lo IS NOT NULL AND {sql})", args


def _order(query: Query) -> str:
    keys = [("r.date_lo" if key == "date" else "r.id", desc) for key, desc in query.sort]
    if not any(column == "r.id" for column, _ in keys):
        keys.append(("r.id", keys[0][1] if keys else False))
    return ", ".join(f"{column} {'DESC' if desc else 'ASC'}" for column, desc in keys)


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _items(params: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in params.items() for v in ([vs] if isinstance(vs, str) else vs)]
