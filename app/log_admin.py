"""`pmd log verify`: check the access log's hash chain from the first entry to the last.

Exit 0 when the chain is intact, 1 naming the first entry that does not fit (edited, inserted, or the one after
a removed entry), 2 when there is no readable log at all.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from app import settings
from app.access_log import AccessLog, path_for


def cli_verify(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else path_for(settings.load())
    if not path.is_file():
        print(f"No access log at {path}. Give the file with --path, or set PMD_INSTANCE_PATH.", file=sys.stderr)
        return 2
    log = AccessLog(path)
    try:
        if not log.exists():
            print(f"{path} holds no access log.", file=sys.stderr)
            return 2
        broken, count = log.verify(), log.count()
    except sqlite3.Error as exc:
        print(f"Cannot read {path}: {exc}.", file=sys.stderr)
        return 2
    if broken is None:
        print(f"OK: the access log's hash chain is intact ({count} entries, {path}).")
        return 0
    print(f"BROKEN: entry {broken} does not fit the hash chain: it, or the entry before it, was changed, "
          f"inserted or removed after it was written ({path}).")
    return 1


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p_log = sub.add_parser("log", help="the access log")
    log = p_log.add_subparsers(dest="log_command", required=True)
    p_verify = log.add_parser("verify", help="check the hash chain; names the first broken entry")
    p_verify.add_argument("--path", help="the access log's SQLite file (default: from the settings)")
    p_verify.set_defaults(func=cli_verify)
