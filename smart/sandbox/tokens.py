"""Issued access and refresh tokens: the one place the OAuth server writes and the FHIR API reads."""
from __future__ import annotations

import time
from dataclasses import dataclass

import sqlite_utils

TABLE = "oauth_tokens"


@dataclass(frozen=True)
class AccessGrant:
    """What a bearer token allows: who asked, for which scopes, in which patient context."""

    client_id: str
    scope: str
    patient: str | None
    fhir_user: str | None
    expires_at: int

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


class TokenStore:
    """Tokens stored in SQLite; access tokens are opaque random strings."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            self.db[TABLE].create(
                {
                    "access_token": str,
                    "refresh_token": str,
                    "client_id": str,
                    "scope": str,
                    "patient": str,
                    "fhir_user": str,
                    "launch_context": str,
                    "issued_at": int,
                    "expires_at": int,
                    "revoked": int,
                },
                pk="access_token",
            )
            self.db[TABLE].create_index(["refresh_token"], unique=True)

    def save(
        self,
        access_token: str,
        *,
        client_id: str,
        scope: str,
        expires_in: int,
        refresh_token: str | None = None,
        patient: str | None = None,
        fhir_user: str | None = None,
        launch_context: str = "{}",
    ) -> None:
        now = int(time.time())
        self.db[TABLE].insert(
            {
                "access_token": access_token,
                "refresh_token": refresh_token,
                "client_id": client_id,
                "scope": scope,
                "patient": patient,
                "fhir_user": fhir_user,
                "launch_context": launch_context,
                "issued_at": now,
                "expires_at": now + expires_in,
                "revoked": 0,
            }
        )

    def lookup(self, access_token: str) -> AccessGrant | None:
        """The grant behind a bearer token, or None when unknown, expired or revoked."""
        rows = list(self.db.query(f"select * from {TABLE} where access_token = ?", [access_token]))
        if not rows:
            return None
        row = rows[0]
        if row["revoked"] or row["expires_at"] <= time.time():
            return None
        return AccessGrant(row["client_id"], row["scope"], row["patient"], row["fhir_user"], row["expires_at"])
