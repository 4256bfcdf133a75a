"""Who may use the admin page: the credentials in `ADMIN_USERS` (`name=hash` entries, hashes from
`pmd admin hash-password NAME`), checked with HTTP Basic authentication (RFC 7617).

Only hashes are configured (werkzeug's scrypt or pbkdf2 hashes, compared in constant time by
`check_password_hash`); an unknown name costs the same hash check as a known one. With no entry the admin
surface is switched off: never open by default.
"""
from __future__ import annotations

import argparse
import getpass
import re
import sys

from werkzeug.security import check_password_hash, generate_password_hash

from app.secrets_file import ConfigurationError

NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
HASH_PREFIXES = ("scrypt:", "pbkdf2:")
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")
MIN_PASSWORD = 12


def parse_users(value: str) -> dict[str, str]:
    """`name=hash` entries separated by spaces or commas; ConfigurationError for anything else (at start)."""
    users: dict[str, str] = {}
    for entry in re.split(r"[\s,]+", value.strip()) if value.strip() else []:
        name, sep, hashed = entry.partition("=")
        if not sep or not NAME.match(name) or not hashed.startswith(HASH_PREFIXES):
            raise ConfigurationError(
                "PMD_ADMIN_USERS takes name=hash entries made by `pmd admin hash-password NAME`; "
                f"an entry for {name[:64]!r} is not one (never put a password there)."
            )
        users[name] = hashed
    return users


def verify(users: dict[str, str], name: str, password: str) -> bool:
    """True when `name` is configured and `password` matches its hash; same work whether or not it exists."""
    hashed = users.get(name)
    # An unknown name is checked against a configured hash (same method, same cost) and then refused.
    ok = check_password_hash(hashed or next(iter(users.values()), _DUMMY_HASH), password)
    return ok and hashed is not None


def cli_hash_password(args: argparse.Namespace) -> int:
    """Print a `name=hash` entry for PMD_ADMIN_USERS; the password is read from the terminal (or stdin), never argv."""
    if not NAME.match(args.name):
        print("The name may have letters, digits and . _ @ - (at most 64).", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD:
        print(f"Use at least {MIN_PASSWORD} characters.", file=sys.stderr)
        return 1
    print(f"{args.name}={generate_password_hash(password)}")
    return 0
