"""Rotating the app's signing keys: `pmd keys rotate`, `pmd keys list`, and the admin page's button.

The rotation itself is `smart.keys.rotate`; this module applies the configured grace period
(`KEY_GRACE_SECONDS`) and logs who rotated in the admin change log (`app/ehr_store.py`).
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from app import settings
from app.ehr_admin import cli_actor
from app.ehr_store import EhrStore, path_for
from smart import keys


def rotate(config: Mapping[str, Any], store: EhrStore, actor: str) -> tuple[list[keys.KeyInfo], list[keys.KeyInfo]]:
    """A new key per algorithm signs from now on; the old ones stay published for the grace period."""
    grace = float(config["KEY_GRACE_SECONDS"])
    new, retired = keys.rotate(Path(config["INSTANCE_PATH"]), grace)
    store.record(actor, "keys.rotate", "signing keys", {
        "new": [k.kid for k in new], "retired": [k.kid for k in retired], "grace_seconds": grace,
    })
    return new, retired


def when(stamp: float | None) -> str:
    """A time for operators: UTC, to the second."""
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def cli_rotate(_args: argparse.Namespace) -> int:
    config = settings.load()
    store = EhrStore(path_for(config))
    try:
        new, retired = rotate(config, store, cli_actor())
    finally:
        store.close()
    for key in new:
        print(f"New {key.alg} key {key.kid} signs from now on.")
    for key in retired:
        print(f"Old {key.alg} key {key.kid} stays in the JWKS until {when(key.published_until)}.")
    print("A running app picks the new keys up for its next launch; no restart is needed.")
    return 0


def cli_list(_args: argparse.Namespace) -> int:
    config = settings.load()
    app_keys = keys.AppKeys.load_or_create(Path(config["INSTANCE_PATH"]))
    now = time.time()
    for key in app_keys.info():
        if key.retired is None:
            state = "signing"
        elif key.published(now):
            state = f"retired, published until {when(key.published_until)}"
        else:
            state = "retired, no longer published"
        print(f"{key.alg}  {key.kid}  created {when(key.created)}  {state}")
    return 0
