"""The citizen's blocks: "this health professional may not see my measurements", by HPR number.

A block belongs to the patient's fødselsnummer (the key every EHR and the national store share) and the
patient reference it was placed from (for an EHR that gives no fødselsnummer). It holds until the citizen lifts
it; a lifted block stays as history (`lifted_at`), so the FHIR Consent view can show it as inactive.
All SQL of this store lives here (SQLite through sqlite-utils, with migrations).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import sqlite_utils

from app.db import PerThread
from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from flask import Flask

TABLE = "blocks"
migrations = Migrations("blocks")


@migrations()
def m001_create_blocks(db: sqlite_utils.Database) -> None:
    db[TABLE].create(
        {
            "id": int, "patient_key": str, "patient_identifier": str, "patient_ref": str, "hpr": str,
            "practitioner_name": str, "practitioner_ref": str, "placed_at": str, "lifted_at": str,
        },
        pk="id",
    )
    # One active block per patient and professional; the partial index makes a second one fail even in a race.
    db.execute(f"CREATE UNIQUE INDEX blocks_one_active ON {TABLE} (patient_key, hpr) WHERE lifted_at IS NULL")
    db[TABLE].create_index(["hpr", "patient_identifier"])
    db[TABLE].create_index(["hpr", "patient_ref"])


class BlocksUnavailable(RuntimeError):
    """The store cannot be read or written; callers must fail closed (return no data)."""


class AlreadyBlocked(Exception):
    """The patient already has an active block on this HPR number."""

    def __init__(self, block: "Block") -> None:
        super().__init__(block.hpr)
        self.block = block


class NoSuchBlock(Exception):
    """The patient has no active block on this HPR number."""


@dataclass(frozen=True)
class Block:
    id: int
    patient_identifier: str
    patient_ref: str
    hpr: str
    practitioner_name: str
    practitioner_ref: str
    placed_at: str
    lifted_at: str | None

    @property
    def active(self) -> bool:
        return not self.lifted_at


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _patient_key(patient_identifier: str, patient_ref: str) -> str:
    return f"fnr:{patient_identifier}" if patient_identifier else f"ref:{patient_ref}"


def _block(row: Mapping[str, Any]) -> Block:
    return Block(**{k: row[k] for k in Block.__dataclass_fields__})


class BlockStore:
    """Blocks in one SQLite file; one connection per thread (like the access log)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = PerThread(path)


    def migrate(self) -> None:
        migrations.apply(self._db())

    def _query(self, sql: str, args: list[Any]) -> list[Block]:
        try:
            return [_block(row) for row in self._db().query(sql, args)]
        except sqlite3.Error as exc:
            raise BlocksUnavailable(str(exc)) from exc

    def _mine(self, patient_identifier: str, patient_ref: str) -> tuple[str, list[str]]:
        """The condition naming one patient: by fødselsnummer, or by reference (an empty value matches nothing)."""
        return "(patient_identifier = ? OR patient_ref = ?)", [patient_identifier or "\x00", patient_ref or "\x00"]

    def blocking(self, patient_identifier: str, patient_ref: str, hpr: str) -> Block | None:
        """The active block that stops `hpr` from seeing this patient, if any."""
        if not hpr:
            return None
        mine, args = self._mine(patient_identifier, patient_ref)
        found = self._query(f"SELECT * FROM {TABLE} WHERE hpr = ? AND lifted_at IS NULL AND {mine} LIMIT 1",
                            [hpr, *args])
        return found[0] if found else None

    def for_patient(self, patient_identifier: str, patient_ref: str, *, include_lifted: bool = False) -> list[Block]:
        """The patient's blocks, newest first (active ones only unless `include_lifted`)."""
        mine, args = self._mine(patient_identifier, patient_ref)
        active = "" if include_lifted else " AND lifted_at IS NULL"
        return self._query(f"SELECT * FROM {TABLE} WHERE {mine}{active} ORDER BY id DESC", args)

    def place(self, patient_identifier: str, patient_ref: str, hpr: str, practitioner_name: str = "",
              practitioner_ref: str = "") -> Block:
        """Place a block; raise AlreadyBlocked when one is active for this patient and HPR number."""
        existing = self.blocking(patient_identifier, patient_ref, hpr)
        if existing is not None:
            raise AlreadyBlocked(existing)
        row = {"patient_key": _patient_key(patient_identifier, patient_ref), "patient_identifier": patient_identifier,
               "patient_ref": patient_ref, "hpr": hpr, "practitioner_name": practitioner_name,
               "practitioner_ref": practitioner_ref, "placed_at": _now(), "lifted_at": None}
        try:
            cursor = self._db().conn.execute(
                f"INSERT INTO {TABLE} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        except sqlite3.IntegrityError:
            existing = self.blocking(patient_identifier, patient_ref, hpr)
            if existing is None:
                raise BlocksUnavailable("conflicting block") from None
            raise AlreadyBlocked(existing) from None
        except sqlite3.Error as exc:
            raise BlocksUnavailable(str(exc)) from exc
        return _block({**row, "id": int(cursor.lastrowid)})

    def lift(self, patient_identifier: str, patient_ref: str, hpr: str) -> Block:
        """Lift the active block on `hpr`; raise NoSuchBlock when there is none."""
        existing = self.blocking(patient_identifier, patient_ref, hpr)
        if existing is None:
            raise NoSuchBlock(hpr)
        lifted_at = _now()
        self._write(f"UPDATE {TABLE} SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL", [lifted_at, existing.id])
        return Block(**{**existing.__dict__, "lifted_at": lifted_at})

    def undo_place(self, block: Block) -> None:
        """Remove a block whose placing could not be logged: nothing half-written stays behind."""
        self._write(f"DELETE FROM {TABLE} WHERE id = ?", [block.id])

    def undo_lift(self, block: Block) -> None:
        """Restore a block whose lifting could not be logged."""
        self._write(f"UPDATE {TABLE} SET lifted_at = NULL WHERE id = ?", [block.id])

    def _write(self, sql: str, args: list[Any]) -> None:
        try:
            self._db().conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise BlocksUnavailable(str(exc)) from exc


def path_for(config: Mapping[str, Any]) -> Path:
    return Path(config.get("BLOCKS_PATH") or Path(config["INSTANCE_PATH"]) / "blocks.sqlite")


def init_app(app: "Flask") -> None:
    """Open (and migrate) the block store in the instance folder; `current_blocks()` returns it."""
    store = BlockStore(path_for(app.config))
    store.migrate()
    app.extensions["blocks"] = store


def current_blocks() -> BlockStore:
    from flask import current_app

    return current_app.extensions["blocks"]
