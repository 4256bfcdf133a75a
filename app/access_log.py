"""The citizen's access log: every lookup of a patient's data, written before any data is returned.

Entries are append-only and chained: each carries the SHA-256 of the previous entry's hash and its own
content, so an edited, removed or inserted row breaks the chain at that entry (`verify()` names it).
All SQL of this store lives here; PostgreSQL can replace it behind the same methods.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import sqlite_utils

from app.db import PerThread
from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from flask import Flask

TABLE = "access_log"
GENESIS = "0" * 64
OWN_EXCEPT = "('block', 'unblock')"  # the citizen's own acts that belong with the professionals' entries

migrations = Migrations("access_log")


@migrations()
def m001_create_access_log(db: sqlite_utils.Database) -> None:
    db[TABLE].create(
        {
            "id": int, "at": str, "action": str, "outcome": str, "reason": str,
            "actor_type": str, "actor_ref": str, "actor_name": str, "actor_hpr": str, "actor_role": str,
            "actor_org": str, "patient_ref": str, "patient_identifier": str, "what": str,
            "period_from": str, "period_to": str, "issuer": str, "client_id": str, "system_name": str,
            "basis": str, "prev_hash": str, "hash": str,
        },
        pk="id",
    )
    db[TABLE].create_index(["patient_identifier", "id"])
    db[TABLE].create_index(["patient_ref", "id"])
    db[TABLE].create_index(["actor_hpr", "id"])


@migrations()
def m002_index_sections(db: sqlite_utils.Database) -> None:
    """The citizen's page asks for their own views apart from the rest, and by person: both stay index walks."""
    for key in ("patient_identifier", "patient_ref"):
        db[TABLE].create_index([key, "actor_type", "id"])
        db[TABLE].create_index([key, "actor_hpr", "id"])


@migrations()
def m003_add_target(db: sqlite_utils.Database) -> None:
    """Blocks and lifts name the professional they are about; older rows keep NULL there (see `_digest`)."""
    db[TABLE].add_column("target_hpr", str)
    db[TABLE].add_column("target_name", str)


class AccessLogUnavailable(RuntimeError):
    """The entry could not be written: the caller must not return data."""


@dataclass
class Entry:
    """One line of the citizen's log: who looked up what about whom, when, how, and with what outcome."""

    action: str  # lookup | block | unblock | view-log
    outcome: str  # permitted | refused | failed
    patient_ref: str
    patient_identifier: str = ""
    actor_type: str = "practitioner"  # practitioner | citizen | other (smart.context.User.kind) | system
    actor_ref: str = ""
    actor_name: str = ""
    actor_hpr: str = ""
    actor_role: str = ""
    actor_org: str = ""
    what: list[str] = field(default_factory=list)
    period_from: str = ""
    period_to: str = ""
    issuer: str = ""
    client_id: str = ""
    system_name: str = ""
    basis: str = "care-relationship"
    reason: str = ""
    target_hpr: str = ""  # block | unblock: the professional the citizen blocked or let back in
    target_name: str = ""


def _digest(prev_hash: str, row: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's content. Entries never hold NULL when written (every field
    defaults to ""), so NULL only appears in columns a later migration added to older rows: those are left out,
    and an older entry hashes as it did when it was written."""
    content = {k: row[k] for k in sorted(row) if k not in {"id", "hash", "prev_hash"} and row[k] is not None}
    payload = prev_hash + json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AccessLog:
    """SQLite-backed log; one connection per thread, writes serialised with BEGIN IMMEDIATE."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = PerThread(path)


    def migrate(self) -> None:
        migrations.apply(self._db())

    def append(self, entry: Entry, now: datetime | None = None) -> int:
        """Write one entry at the end of the chain; raise AccessLogUnavailable if it cannot be written."""
        row = asdict(entry)
        row["what"] = json.dumps(entry.what, ensure_ascii=False)
        row["at"] = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")
        try:
            conn = self._db().conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute(f"SELECT hash FROM {TABLE} ORDER BY id DESC LIMIT 1").fetchone()
                row["prev_hash"] = last[0] if last else GENESIS
                row["hash"] = _digest(row["prev_hash"], row)
                cursor = conn.execute(
                    f"INSERT INTO {TABLE} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                    list(row.values()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise AccessLogUnavailable(str(exc)) from exc
        return int(cursor.lastrowid)

    def for_patient(
        self,
        patient_identifier: str,
        patient_ref: str = "",
        *,
        before_id: int | None = None,
        limit: int = 50,
        actor_hpr: str | None = None,
        since: str | None = None,
        until: str | None = None,
        own: bool | None = None,
    ) -> list[dict[str, Any]]:
        """The patient's entries (by fødselsnummer or by patient reference), newest first.

        Keyset-paginated (`before_id`), so a page costs the same at any log size: each key is walked backwards
        on its own index and the two walks are merged, which SQLite cannot do for `a = ? OR b = ?` by itself.
        `own=True` keeps the patient's own views (their lookups and log views), `own=False` everything else
        (professionals' lookups, refusals, blocks and lifts); `since`/`until` are UTC ISO times, `until` exclusive.
        """
        filters, args = [], []
        for clause, value in (("id < ?", before_id), ("actor_hpr = ?", actor_hpr), ("at >= ?", since),
                              ("at < ?", until)):
            if value:
                filters.append(clause)
                args.append(value)
        if own is True:
            filters.append(f"actor_type = 'citizen' AND action NOT IN {OWN_EXCEPT}")
        elif own is False:
            filters.append(f"(actor_type != 'citizen' OR action IN {OWN_EXCEPT})")
        branches, params = [], []
        for key, value in (("patient_identifier", patient_identifier), ("patient_ref", patient_ref)):
            if value:
                where = " AND ".join([f"{key} = ?", *filters])
                branches.append(f"SELECT * FROM (SELECT * FROM {TABLE} WHERE {where} ORDER BY id DESC LIMIT ?)")
                params += [value, *args, limit]
        if not branches:
            return []
        sql = " UNION ".join(branches) + " ORDER BY id DESC LIMIT ?"
        rows = self._db().query(sql, [*params, limit])
        return [{**row, "what": json.loads(row["what"] or "[]")} for row in rows]

    def exists(self) -> bool:
        """Whether the file holds an access log (a check that creates nothing but the empty file)."""
        return TABLE in self._db().table_names()

    def count(self) -> int:
        return self._db()[TABLE].count

    def verify(self) -> int | None:
        """Check the whole chain; return the id of the first broken entry, or None when intact."""
        prev = GENESIS
        for row in self._db().query(f"SELECT * FROM {TABLE} ORDER BY id"):
            if row["prev_hash"] != prev or _digest(prev, row) != row["hash"]:
                return int(row["id"])
            prev = row["hash"]
        return None


def path_for(config: Mapping[str, Any]) -> Path:
    """Where the log lives for these settings (`pmd log verify` reads the same file as the app)."""
    return Path(config.get("ACCESS_LOG_PATH") or Path(config["INSTANCE_PATH"]) / "access_log.sqlite")


def init_app(app: "Flask") -> None:
    """Open (and migrate) the access log in the instance folder; `current_log()` returns it."""
    log = AccessLog(path_for(app.config))
    log.migrate()
    app.extensions["access_log"] = log


def current_log() -> AccessLog:
    from flask import current_app

    return current_app.extensions["access_log"]
