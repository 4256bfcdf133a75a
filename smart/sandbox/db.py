"""The sandbox's one SQLite file, opened once per request (sqlite3 connections are per thread)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from flask import Flask, current_app, g


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the sandbox database with WAL so readers never wait for the writer."""
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return sqlite_utils.Database(conn)


def get_db() -> sqlite_utils.Database:
    """The request's database handle, opened on first use."""
    if "sandbox_db" not in g:
        g.sandbox_db = connect(current_app.config["SANDBOX_DB_PATH"])
    return g.sandbox_db


def _close(_exc: BaseException | None = None) -> None:
    db = g.pop("sandbox_db", None)
    if db is not None:
        db.conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
