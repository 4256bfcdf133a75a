"""Launch contexts behind the opaque `launch` parameter of an EHR launch (SMART App Launch 2.2,
app-launch.html §"Launch App: EHR Launch"): created by the launcher, resolved once by the authorize step.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlite_utils

TABLE = "smart_launches"
LAUNCH_LIFETIME = 600


@dataclass(frozen=True)
class Launch:
    """Who launched which app for which patient, and whether the app should draw its own patient banner."""

    id: str
    launch_uri: str
    patient: str
    provider: str
    need_patient_banner: bool
    expires_at: float


class LaunchStore:
    """A launch id is random, lives `LAUNCH_LIFETIME` seconds and is consumed when a code is issued for it."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            self.db[TABLE].create(
                {"id": str, "launch_uri": str, "patient": str, "provider": str,
                 "need_patient_banner": int, "expires_at": float, "used": int},
                pk="id",
            )

    def create(self, *, launch_uri: str, patient: str, provider: str, need_patient_banner: bool) -> Launch:
        launch = Launch(secrets.token_urlsafe(24), launch_uri, patient, provider, need_patient_banner,
                        time.time() + LAUNCH_LIFETIME)
        self.db[TABLE].insert({**launch.__dict__, "need_patient_banner": int(need_patient_banner), "used": 0})
        return launch

    def get(self, launch_id: str) -> Launch | None:
        """The launch if it exists, is unused and has not expired."""
        rows = list(self.db.query(f"select * from {TABLE} where id = ?", [launch_id]))
        if not rows or rows[0]["used"] or rows[0]["expires_at"] <= time.time():
            return None
        row: dict[str, Any] = rows[0]
        return Launch(row["id"], row["launch_uri"], row["patient"], row["provider"],
                      bool(row["need_patient_banner"]), row["expires_at"])

    def consume(self, launch_id: str) -> bool:
        """Mark the launch used; False when someone else used it first."""
        with self.db.conn:
            return bool(self.db.execute(f"update {TABLE} set used = 1 where id = ? and used = 0", [launch_id]).rowcount)
