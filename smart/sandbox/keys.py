"""The sandbox's own signing key (RS256, for id_tokens), generated once into the instance folder.

The private JWK lives in `<instance>/sandbox_signing_key.json` (mode 600, git-ignored folder);
only the public half is published at `/auth/jwks` (OpenID Connect Core §10.1).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

KEY_FILE = "sandbox_signing_key.json"
ALGORITHM = "RS256"


def signing_key(instance: str | Path) -> RSAKey:
    """Load the server key, creating it on first run (safe when several workers start at once)."""
    path = Path(instance) / KEY_FILE
    if not path.exists():
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump(key.as_dict(private=True), fh)
            return key
    return RSAKey.import_key(json.loads(path.read_text()))


def public_jwks(key: RSAKey) -> dict:
    """The JWKS document with the public key only."""
    return KeySet([key]).as_dict(private=False)
