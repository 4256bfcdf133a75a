"""Several launches per browser session, each behind its own unguessable handle.

A clinician with two EHR tabs (patient A, then patient B) shares one session cookie; if the session held one
launch, the second would replace the first and tab A would be shown patient B. So every completed launch gets
a handle (192 random bits) and its own row here: context, user and tokens. The page of a launch lives under
`/l/<handle>/`; its API calls carry the handle in the same path prefix (or, for scripts, an `X-Launch` header).

A row belongs to one browser session: it is bound to a random `owner` value kept in that session's server-side
data (which survives the id rotation at sign-in), so a handle copied to another browser is useless. A session
keeps at most `MAX_PER_OWNER` launches (the oldest goes first); each expires after the session lifetime without
use. Launches live in their own table rather than inside the session blob so that a token refresh or a new
launch in one tab is not overwritten by a concurrent request of another tab saving its older copy of the session.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote

import sqlite_utils

TABLE = "launches"
MAX_PER_OWNER = 10
PURGE_AFTER = 86400  # seconds an expired launch is still recognised (to say "expired" rather than "unknown")
TOUCH_EVERY = 60  # seconds between writes of a sliding expiry
PREFIX = "/l/"
HANDLE_ENVIRON = "pmd.launch_handle"
HANDLE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def new_handle() -> str:
    return secrets.token_urlsafe(24)


def new_owner() -> str:
    return secrets.token_urlsafe(32)


def _key(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


@dataclass(frozen=True)
class StoredLaunch:
    """One launch as stored: `data` is what the callback recorded (iss, context, user, scope, token)."""

    handle: str
    data: dict[str, Any]
    expires_at: float

    @property
    def expired(self) -> bool:
        return self.expires_at <= time.time()


class LaunchStore:
    """The launches of every browser session, keyed by the SHA-256 of their handle."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            self.db[TABLE].create({"key": str, "owner": str, "data": str, "created_at": float, "expires_at": float},
                                  pk="key")
            self.db[TABLE].create_index(["owner", "created_at"])
            self.db[TABLE].create_index(["expires_at"])

    def add(self, owner: str, data: dict[str, Any], lifetime: int) -> str:
        """Store a new launch for `owner`; returns its handle. Evicts the owner's oldest beyond the bound."""
        handle, now = new_handle(), time.time()
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where expires_at <= ?", [now - PURGE_AFTER])
            self.db[TABLE].insert({"key": _key(handle), "owner": owner, "data": json.dumps(data), "created_at": now,
                                   "expires_at": now + lifetime})
            self.db.execute(
                f"delete from {TABLE} where owner = ? and key not in "
                f"(select key from {TABLE} where owner = ? order by created_at desc limit ?)",
                [owner, owner, MAX_PER_OWNER])
        return handle

    def get(self, owner: str, handle: str) -> StoredLaunch | None:
        """The owner's launch with this handle (expired or not), or None: unknown, evicted, or someone else's."""
        rows = list(self.db.query(f"select data, expires_at from {TABLE} where key = ? and owner = ?",
                                  [_key(handle), owner]))
        if not rows:
            return None
        return StoredLaunch(handle, json.loads(rows[0]["data"]), rows[0]["expires_at"])

    def issuer_of(self, handle: str) -> str | None:
        """Only the EHR a handle was launched from, whoever asks: enough to let that EHR frame the page that
        tells a user whose whole session expired to launch again, and nothing about the patient or user."""
        rows = list(self.db.query(f"select data from {TABLE} where key = ?", [_key(handle)]))
        return json.loads(rows[0]["data"]).get("iss") if rows else None

    def touch(self, launch: StoredLaunch, lifetime: int) -> None:
        """Slide the expiry of a launch in use (written at most once a minute)."""
        expires_at = time.time() + lifetime
        if expires_at - launch.expires_at >= TOUCH_EVERY:
            with self.db.conn:
                self.db.execute(f"update {TABLE} set expires_at = ? where key = ? and expires_at > ?",
                                [expires_at, _key(launch.handle), time.time()])

    def update(self, handle: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any] | None:
        """Apply `change` to the launch's current data in one transaction (used for refreshed tokens)."""
        with self.db.conn:
            rows = list(self.db.query(f"select data from {TABLE} where key = ?", [_key(handle)]))
            if not rows:
                return None
            data = change(json.loads(rows[0]["data"]))
            self.db.execute(f"update {TABLE} set data = ? where key = ?", [json.dumps(data), _key(handle)])
        return data

    def count(self, owner: str) -> int:
        """How many launches the owner has."""
        return self.db.execute(f"select count(*) from {TABLE} where owner = ?", [owner]).fetchone()[0]


def launch_path(handle: str) -> str:
    """Where the page of a launch lives: `/l/<handle>/`."""
    return f"{PREFIX}{quote(handle, safe='')}/"


class LaunchPathMiddleware:
    """WSGI: `/l/<handle>/rest` is served as `/rest` with `/l/<handle>` in SCRIPT_NAME and the handle noted.

    Every route then works under the prefix unchanged, `url_for` and relative links keep the handle, and the
    handle never appears among a route's parameters (so it can never be read as a patient selector).
    `/l/<handle>` without the trailing slash is redirected to it, so that relative URLs resolve under it.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            handle, slash, rest = path[len(PREFIX):].partition("/")
            if handle and not slash:
                query = environ.get("QUERY_STRING", "")
                location = environ.get("SCRIPT_NAME", "") + launch_path(handle) + (f"?{query}" if query else "")
                start_response("308 Permanent Redirect", [("Location", location), ("Content-Length", "0")])
                return [b""]
            if handle:
                environ[HANDLE_ENVIRON] = handle
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX + handle
                environ["PATH_INFO"] = "/" + rest
        return self.app(environ, start_response)
