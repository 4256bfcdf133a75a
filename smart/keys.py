"""The app's own signing keys for `private_key_jwt`, generated at first run into the instance folder.

One RSA key (RS384) and one P-384 key (ES384), as SMART App Launch 2.2 "Client Authentication: Asymmetric"
requires servers to support. The public halves are published as a JWKS (RFC 7517) at `/.well-known/jwks.json`.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey

FILE_NAME = "smart_client_keys.json"
_lock = threading.Lock()


class AppKeys:
    """The key pair per algorithm; `kid` is the RFC 7638 thumbprint."""

    def __init__(self, keys: dict[str, RSAKey | ECKey]) -> None:
        self._keys = keys

    @classmethod
    def load_or_create(cls, instance: str | Path) -> "AppKeys":
        path = Path(instance) / FILE_NAME
        with _lock:
            if not path.exists():
                _write_private(path, _generate())
            data = json.loads(path.read_text())
        keys: dict[str, RSAKey | ECKey] = {}
        for key in KeySet.import_key_set(data).keys:
            assert isinstance(key, (RSAKey, ECKey))
            keys[str(key.alg)] = key
        return cls(keys)

    def signing_key(self, alg: str) -> RSAKey | ECKey:
        return self._keys[alg]

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS to publish: public parameters only."""
        return {"keys": [{**key.as_dict(private=False), "key_ops": ["verify"]} for key in self._keys.values()]}


def _generate() -> dict[str, Any]:
    rsa = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS384"}, auto_kid=True)
    ec = ECKey.generate_key("P-384", parameters={"use": "sig", "alg": "ES384"}, auto_kid=True)
    return {"keys": [rsa.as_dict(private=True), ec.as_dict(private=True)]}


def _write_private(path: Path, jwks: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(jwks, fh)
