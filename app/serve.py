"""`pmd serve`: the app under gunicorn, as it runs in production (no sandbox, no synthetic data).

The settings are checked before gunicorn starts, so a missing secret in production is one clear line, not a
worker boot loop.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

from app import settings
from app.secrets_file import ConfigurationError


def check() -> None:
    """Refuse to start with settings that cannot run safely (raises ConfigurationError)."""
    from app import create_app

    create_app()


def serve(args: argparse.Namespace) -> int:
    try:
        check()
    except ConfigurationError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if gunicorn is None:
        print("Cannot start: gunicorn is not installed (pip install gunicorn).", file=sys.stderr)
        return 2
    argv = [gunicorn, "--bind", args.bind, "--workers", str(args.workers), "--threads", str(args.threads),
            "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',  # path only: no query strings in logs
            "app:create_app()"]
    os.chdir(settings.ROOT)
    os.execv(gunicorn, argv)
    return 0  # not reached: exec replaces this process


def add_commands(sub: argparse._SubParsersAction) -> None:
    p_serve = sub.add_parser("serve", help="run the app under gunicorn (production)")
    p_serve.add_argument("--bind", default="127.0.0.1:8000", help="address:port (default 127.0.0.1:8000)")
    p_serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p_serve.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p_serve.set_defaults(func=serve)
