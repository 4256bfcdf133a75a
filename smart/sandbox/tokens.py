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
                    "grant_id": str,
                    "refresh_used": int,
                },
                pk="access_token",
            )
            self.db[TABLE].create_index(["refresh_token"], unique=True)
        table = self.db[TABLE]
        for column, kind in (("grant_id", str), ("refresh_used", int)):
            if column not in table.columns_dict:
                table.add_column(column, kind)
        if ["grant_id"] not in [index.columns for index in table.indexes]:
            table.create_index(["grant_id"])

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
        grant_id: str | None = None,
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
                "grant_id": grant_id,
                "refresh_used": 0,
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

    def redeem_refresh(self, refresh_token: str, client_id: str) -> RefreshRedemption:
        """Claim a client's refresh token once (rotation, RFC 9700 §4.14.2); a second claim reports `used`.
        Another client's token is `unknown` and stays unclaimed."""
        rows = list(self.db.query(f"select * from {TABLE} where refresh_token = ?", [refresh_token]))
        if not rows or rows[0]["client_id"] != client_id:
            return RefreshRedemption("unknown")
        row = rows[0]
        issued = IssuedRefresh(
            row["client_id"], row["scope"], row["patient"], row["fhir_user"],
            row["launch_context"] or "{}", row["grant_id"],
        )
        if row["revoked"]:
            return RefreshRedemption("revoked", issued)
        with self.db.conn:
            claimed = self.db.execute(
                f"update {TABLE} set refresh_used = 1 where refresh_token = ? and refresh_used = 0",
                [refresh_token],
            ).rowcount
        return RefreshRedemption("ok" if claimed else "used", issued)

    def revoke_grant(self, grant_id: str) -> int:
        """Revoke every access and refresh token issued under one authorization (RFC 6749 §4.1.2, §10.4)."""
        with self.db.conn:
            return self.db.execute(
                f"update {TABLE} set revoked = 1, refresh_used = 1 where grant_id = ?", [grant_id]
            ).rowcount


@dataclass(frozen=True)
class IssuedRefresh:
    """What a refresh token carries over to the next access token."""

    client_id: str
    scope: str
    patient: str | None
    fhir_user: str | None
    launch_context: str
    grant_id: str | None

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: object) -> bool:
        return getattr(client, "client_id", None) == self.client_id


@dataclass(frozen=True)
class RefreshRedemption:
    """The outcome of presenting a refresh token: `status` is ok, unknown, used or revoked."""

    status: str
    token: IssuedRefresh | None = None
