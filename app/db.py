"""SQLite files: the app's own (sessions, launches), opened once per request, and per-thread connections for
stores with a file of their own (access log, blocks)."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils
from flask import Flask, current_app, g


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open a SQLite file with WAL so readers never wait for the writer."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite_utils.Database(conn)


class RequestDatabase:
    """A SQLite file opened at most once per request (connections belong to one thread) and closed after it."""

    def __init__(self, config_key: str) -> None:
        self.config_key = config_key
        self.g_key = f"db_{config_key.lower()}"

    def get(self) -> sqlite_utils.Database:
        """The request's handle on the file `current_app.config[config_key]` names, opened on first use."""
        if self.g_key not in g:
            setattr(g, self.g_key, connect(current_app.config[self.config_key]))
        return getattr(g, self.g_key)

    def close(self, _exc: BaseException | None = None) -> None:
        db = g.pop(self.g_key, None)
        if db is not None:
            db.conn.close()

    def init_app(self, app: Flask) -> None:
        app.teardown_appcontext(self.close)


_app_db = RequestDatabase("APP_DB_PATH")
get_db = _app_db.get
init_app = _app_db.init_app


class PerThread:
    """One autocommit connection (WAL) per thread to a store's own SQLite file: for stores used from request
    threads, the CLI and background work alike, whose writes take their own `BEGIN IMMEDIATE`."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()

    def __call__(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            db = self._local.db = sqlite_utils.Database(conn)
        return db
