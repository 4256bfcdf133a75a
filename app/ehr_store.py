"""EHR registrations made at run time (`pmd ehr add`, the admin page), and the log of admin changes.

One SQLite file in the instance folder (`registry.sqlite`), shared by the running app and the `pmd` command in
another process. The app reads through on every lookup, but re-reads the rows only when `PRAGMA data_version`
says another connection committed since (SQLite: "the integer values returned by two invocations … will be
different if changes were committed to the database by any other connection in the interim"), so a new
registration takes effect for the next launch without a restart, at the cost of one pragma per lookup.

Every change is written together with a row in `admin_changes` (who, when, what) in one transaction: a change
that cannot be logged is not made. All SQL of this store lives here.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import sqlite_utils
from sqlite_utils.migrations import Migrations

from smart.registry import Registration, normalize_issuer

FILE_NAME = "registry.sqlite"
TABLE = "ehr_registrations"
CHANGES = "admin_changes"
COLUMNS = ("issuer", "match", "client_id", "name", "auth_method", "signing_alg", "secret_env", "frame_origins",
           "measurements", "store_url")

migrations = Migrations("ehr_registry")


@migrations()
def m001_create_tables(db: sqlite_utils.Database) -> None:
    db[TABLE].create(
        {"issuer": str, "match": str, "client_id": str, "name": str, "auth_method": str, "signing_alg": str,
         "secret_env": str, "frame_origins": str, "measurements": str, "store_url": str,
         "created_at": str, "created_by": str},
        pk="issuer",
    )
    db[CHANGES].create(
        {"id": int, "at": str, "actor": str, "action": str, "subject": str, "detail": str}, pk="id"
    )


class DuplicateRegistration(ValueError):
    """An EHR is already registered under this issuer (or prefix)."""


def path_for(config: Mapping[str, Any]) -> Path:
    """The store's file for these settings: `REGISTRY_DB_PATH`, else `registry.sqlite` in the instance folder."""
    return Path(config.get("REGISTRY_DB_PATH") or Path(config["INSTANCE_PATH"]) / FILE_NAME)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _row(registration: Registration) -> dict[str, Any]:
    values = asdict(registration)
    row = {name: values[name] for name in COLUMNS}
    row["issuer"] = normalize_issuer(registration.issuer)
    row["frame_origins"] = json.dumps(list(registration.frame_origins))
    return row


def _registration(row: Mapping[str, Any]) -> Registration:
    values = {name: row[name] for name in COLUMNS}
    values["frame_origins"] = tuple(json.loads(row["frame_origins"] or "[]"))
    return Registration(**values, source="stored")


class EhrStore:
    """Stored registrations by issuer (or prefix); one connection, guarded by a lock, shared by threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._cache: list[Registration] | None = None
        self._version: int | None = None

    def _db(self) -> sqlite_utils.Database:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            migrations.apply(sqlite_utils.Database(conn))
            self._conn = conn
        return sqlite_utils.Database(self._conn)

    def migrate(self) -> None:
        with self._lock:
            self._db()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def all(self) -> list[Registration]:
        """Every stored registration; re-read only when another connection has committed since the last read."""
        with self._lock:
            db = self._db()
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if self._cache is None or version != self._version:
                self._cache = [_registration(row) for row in db.query(f"SELECT * FROM {TABLE} ORDER BY issuer")]
                self._version = version
            return list(self._cache)

    def get(self, issuer: str) -> Registration | None:
        wanted = normalize_issuer(issuer)
        return next((r for r in self.all() if r.issuer == wanted), None)

    def add(self, registration: Registration, actor: str, detail: Mapping[str, Any] | None = None) -> None:
        """Store a new registration and log who added it; DuplicateRegistration when the issuer is taken."""
        row = _row(registration)
        row.update(created_at=_now(), created_by=actor)
        with self._lock:
            conn = self._db().conn
            try:
                self._transaction(conn, [
                    (f"INSERT INTO {TABLE} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())),
                    self._change_sql(actor, "ehr.add", row["issuer"], {**_public(row), **(detail or {})}),
                ])
            except sqlite3.IntegrityError as exc:
                raise DuplicateRegistration(row["issuer"]) from exc
            self._cache = None

    def remove(self, issuer: str, actor: str) -> bool:
        """Delete the registration made under `issuer` and log it; False when there was none."""
        wanted = normalize_issuer(issuer)
        with self._lock:
            conn = self._db().conn
            rows = list(sqlite_utils.Database(conn).query(f"SELECT * FROM {TABLE} WHERE issuer = ?", [wanted]))
            if not rows:
                return False
            self._transaction(conn, [
                (f"DELETE FROM {TABLE} WHERE issuer = ?", [wanted]),
                self._change_sql(actor, "ehr.remove", wanted, _public(rows[0])),
            ])
            self._cache = None
        return True

    def record(self, actor: str, action: str, subject: str, detail: Mapping[str, Any]) -> None:
        """Log an admin change kept elsewhere (a key rotation)."""
        with self._lock:
            self._transaction(self._db().conn, [self._change_sql(actor, action, subject, detail)])

    def changes(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest admin changes, newest first."""
        with self._lock:
            rows = self._db().query(f"SELECT * FROM {CHANGES} ORDER BY id DESC LIMIT ?", [limit])
            return [{**row, "detail": json.loads(row["detail"] or "{}")} for row in rows]

    @staticmethod
    def _change_sql(actor: str, action: str, subject: str, detail: Mapping[str, Any]) -> tuple[str, list[Any]]:
        return (
            f"INSERT INTO {CHANGES} (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            [_now(), actor, action, subject, json.dumps(dict(detail), ensure_ascii=False, sort_keys=True)],
        )

    @staticmethod
    def _transaction(conn: sqlite3.Connection, statements: list[tuple[str, list[Any]]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in statements:
                conn.execute(sql, args)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the change log keeps of a registration: everything (it holds no secret, only a variable's name)."""
    return {name: row[name] for name in COLUMNS if name != "issuer" and row.get(name)}
