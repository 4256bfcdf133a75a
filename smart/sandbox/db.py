"""The sandbox's one SQLite file, opened once per request (the same mechanism as the app's, app/db.py)."""
from __future__ import annotations

from app.db import RequestDatabase, connect

_sandbox_db = RequestDatabase("SANDBOX_DB_PATH")
get_db = _sandbox_db.get
init_app = _sandbox_db.init_app

__all__ = ["connect", "get_db", "init_app"]
