"""Authorization codes in SQLite: short-lived, single use, bound to client and redirect URI (RFC 6749 §4.1.2)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

TABLE = "oauth_codes"


@dataclass(frozen=True)
class IssuedCode:
    """What a code stands for; has the methods authlib's code grant and OpenID extension call."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    fhir_user: str
    patient: str | None
    launch_context: str
    grant_id: str
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    @property
    def context(self) -> dict[str, Any]:
        return json.loads(self.launch_context or "{}")


@dataclass(frozen=True)
class Redemption:
    """The outcome of presenting a code: `status` is ok, unknown, used or expired."""

    status: str
    code: IssuedCode | None = None


class CodeStore:
    """Codes are kept after use (flagged) so that a replay can be recognised and its tokens revoked."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            columns: dict[str, Any] = {name: str for name in IssuedCode.__dataclass_fields__}
            columns.update(auth_time=int, expires_at=float, used=int)
            self.db[TABLE].create(columns, pk="code")
            self.db[TABLE].create_index(["client_id", "nonce"])

    def save(self, code: IssuedCode) -> None:
        self.db[TABLE].insert({**asdict(code), "used": 0})

    def redeem(self, code: str, client_id: str) -> Redemption:
        """Claim a code once, atomically; a second claim reports `used` with the code's grant id."""
        rows = list(self.db.query(f"select * from {TABLE} where code = ? and client_id = ?", [code, client_id]))
        if not rows:
            return Redemption("unknown")
        row = rows[0]
        issued = IssuedCode(**{k: row[k] for k in IssuedCode.__dataclass_fields__})
        with self.db.conn:
            claimed = self.db.execute(f"update {TABLE} set used = 1 where code = ? and used = 0", [code]).rowcount
        if not claimed:
            return Redemption("used", issued)
        if time.time() >= issued.expires_at:
            return Redemption("expired", issued)
        return Redemption("ok", issued)

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        """True when this client already used this nonce (OpenID Connect Core §3.1.2.1 replay check)."""
        rows = self.db.query(f"select 1 from {TABLE} where client_id = ? and nonce = ? limit 1", [client_id, nonce])
        return any(True for _ in rows)
