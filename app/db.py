"""The app's SQLite file (sessions and other app state), opened once per request."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlite_utils
from flask import Flask, current_app, g


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the app database with WAL so readers never wait for the writer."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite_utils.Database(conn)


def get_db() -> sqlite_utils.Database:
    """The request's database handle, opened on first use."""
    if "app_db" not in g:
        g.app_db = connect(current_app.config["APP_DB_PATH"])
    return g.app_db


def _close(_exc: BaseException | None = None) -> None:
    db = g.pop("app_db", None)
    if db is not None:
        db.conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)


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
