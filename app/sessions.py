"""Server-side browser sessions: the cookie holds only an opaque random id, the data stays in SQLite.

Tokens, PKCE verifiers, `state` and the launch context never reach the browser. The cookie is
`Secure; HttpOnly; SameSite=None; Partitioned` (CHIPS) so that it survives inside an EHR's cross-site iframe
with third-party cookies blocked; browsers treat http://127.0.0.1 and localhost as secure, so loopback gets
the same attributes. Only the SHA-256 of the id is stored, so a copy of the database cannot hijack a session.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from app.db import get_db

TABLE = "browser_sessions"
COOKIE_NAME = "pmd_session"
TOUCH_EVERY = 60  # seconds: how stale a session's sliding expiry may get before a request moves it
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Session data by id, with an expiry that slides each time the session is saved."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def ensure_schema(self) -> None:
        if TABLE not in self.db.table_names():
            self.db[TABLE].create({"key": str, "data": str, "expires_at": float}, pk="key")
            self.db[TABLE].create_index(["expires_at"])

    def load(self, sid: str) -> dict[str, Any] | None:
        """The session's data, or None when unknown or expired."""
        rows = list(self.db.query(f"select data, expires_at from {TABLE} where key = ?", [_key(sid)]))
        if not rows or rows[0]["expires_at"] <= time.time():
            return None
        return json.loads(rows[0]["data"])

    def save(self, sid: str, data: dict[str, Any], lifetime: int) -> None:
        with self.db.conn:
            self.db[TABLE].upsert(
                {"key": _key(sid), "data": json.dumps(data), "expires_at": time.time() + lifetime}, pk="key"
            )

    def touch(self, sid: str, lifetime: int) -> None:
        """Slide the expiry without rewriting the data another request may just have changed."""
        with self.db.conn:
            expires_at = time.time() + lifetime  # moved at most once a minute: reads stay reads
            self.db.execute(f"update {TABLE} set expires_at = ? where key = ? and expires_at < ?",
                            [expires_at, _key(sid), expires_at - min(TOUCH_EVERY, lifetime / 2)])

    def delete(self, sid: str) -> None:
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where key = ?", [_key(sid)])

    def purge_expired(self) -> int:
        with self.db.conn:
            return self.db.execute(f"delete from {TABLE} where expires_at <= ?", [time.time()]).rowcount


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """A dict that remembers whether it changed; `stale` says the browser sent an id we no longer know."""

    def __init__(self, data: dict[str, Any] | None = None, *, sid: str, new: bool, stale: bool = False) -> None:
        def on_update(_self: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.sid = sid
        self.new = new
        self.stale = stale
        self.modified = False
        self.replaced_sid: str | None = None

    def rotate(self) -> None:
        """Give the session a new id (after sign-in, against session fixation); the old one is deleted."""
        self.replaced_sid = self.replaced_sid or self.sid
        self.sid = secrets.token_urlsafe(32)
        self.modified = True


def cookie_attributes(app_base_url: str) -> dict[str, Any]:
    """Cross-site iframe cookies on https and loopback; a plain first-party cookie elsewhere on http."""
    parts = urlsplit(app_base_url)
    if parts.scheme == "https" or parts.hostname in LOOPBACK_HOSTS:
        return {"secure": True, "httponly": True, "samesite": "None", "partitioned": True}
    return {"secure": False, "httponly": True, "samesite": "Lax", "partitioned": False}


SESSIONLESS_PREFIXES = ("/assets/",)


class ServerSessionInterface(SessionInterface):
    """Flask's `session`, kept in SQLite and keyed by the `pmd_session` cookie."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return self.make_null_session(app)  # static assets: no session read, no cookie, cacheable
        sid = request.cookies.get(COOKIE_NAME)
        if sid:
            data = SessionStore(get_db()).load(sid)
            if data is not None:
                return ServerSession(data, sid=sid, new=False)
        return ServerSession(sid=secrets.token_urlsafe(32), new=True, stale=bool(sid))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        store = SessionStore(get_db())
        attributes = cookie_attributes(app.config["APP_BASE_URL"])
        if session.replaced_sid:
            store.delete(session.replaced_sid)
        if not session:
            if not session.new or session.replaced_sid:
                store.delete(session.sid)
                response.delete_cookie(COOKIE_NAME, path="/", **attributes)
            return
        lifetime = int(app.config["SESSION_LIFETIME"])
        if not session.modified:
            if not session.new:
                store.touch(session.sid, lifetime)  # requests that only read must not overwrite others' writes
            return
        if session.new:
            store.purge_expired()
        store.save(session.sid, dict(session), lifetime)
        # A browser-session cookie: the server decides expiry, so an expired session can be told apart from none.
        response.set_cookie(COOKIE_NAME, session.sid, path="/", **attributes)
        response.vary.add("Cookie")
        response.headers["Cache-Control"] = "no-store"


def init_app(app: Flask) -> None:
    """Create the table and make Flask's `session` server-side."""
    from app.db import connect

    db = connect(app.config["APP_DB_PATH"])
    try:
        SessionStore(db).ensure_schema()
    finally:
        db.conn.close()
    app.session_interface = ServerSessionInterface()
