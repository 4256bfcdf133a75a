"""The app's own signing keys for `private_key_jwt`, generated at first run into the instance folder, and rotated.

One RSA key (RS384) and one P-384 key (ES384) sign, as SMART App Launch 2.2 "Client Authentication: Asymmetric"
requires servers to support. The public halves are published as a JWKS (RFC 7517) at `/.well-known/jwks.json`.

Rotation (`pmd keys rotate`, or the admin page) adds a new key per algorithm, which signs from then on; the old
one stays published until its grace period (setting `KEY_GRACE_SECONDS`, fixed at rotation time) ends, so an EHR
that cached our JWKS, or holds an assertion signed a moment ago, still verifies it. The file is replaced
atomically; a running app notices the change (inode, size, mtime) on the next signature and reloads it, so a
rotation made by another process takes effect for the next launch.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from joserfc.jwk import ECKey, KeySet, RSAKey

FILE_NAME = "smart_client_keys.json"
ALGORITHMS = ("RS384", "ES384")
_lock = threading.Lock()


@dataclass(frozen=True)
class KeyInfo:
    """One key as the operator sees it: never the private part."""

    kid: str
    alg: str
    created: float | None
    retired: float | None
    published_until: float | None

    def published(self, now: float) -> bool:
        return self.published_until is None or now < self.published_until


class AppKeys:
    """The keys of the instance folder; the newest unretired key per algorithm signs. `kid` = RFC 7638 thumbprint."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, RSAKey | ECKey] = {}
        self._info: list[KeyInfo] = []
        self._reload_lock = threading.Lock()

    @classmethod
    def load_or_create(cls, instance: str | Path) -> "AppKeys":
        path = Path(instance) / FILE_NAME
        with _lock, _file_lock(path):
            if not path.exists():
                _write(path, _fresh_file())
        keys = cls(path)
        keys._current()
        return keys

    def _current(self) -> tuple[dict[str, RSAKey | ECKey], list[KeyInfo]]:
        """The keys as the file holds them now: reloaded when another process rotated them."""
        stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if stamp != self._stamp:
            with self._reload_lock:
                if stamp != self._stamp:
                    self._keys, self._info = _parse(json.loads(self.path.read_text()))
                    self._stamp = stamp
        return self._keys, self._info

    def signing_key(self, alg: str) -> RSAKey | ECKey:
        """The key that signs with `alg` now: the newest one not retired."""
        keys, info = self._current()
        active = [i for i in info if i.alg == alg and i.retired is None]
        return keys[active[-1].kid]

    def info(self) -> list[KeyInfo]:
        return list(self._current()[1])

    def public_jwks(self, now: float | None = None) -> dict[str, Any]:
        """The JWKS to publish: public parameters of every key in use or within its grace period."""
        keys, info = self._current()
        now = time.time() if now is None else now
        return {"keys": [{**keys[i.kid].as_dict(private=False), "key_ops": ["verify"]}
                         for i in info if i.published(now)]}


def rotate(instance: str | Path, grace_seconds: float, now: float | None = None) -> tuple[list[KeyInfo], list[KeyInfo]]:
    """Add a new key per algorithm and retire the signing ones; drop keys whose grace has ended.

    Returns (new keys, retired keys). Safe against a concurrent rotation in another process (file lock).
    """
    path = Path(instance) / FILE_NAME
    now = time.time() if now is None else now
    with _lock, _file_lock(path):
        data = json.loads(path.read_text()) if path.exists() else _fresh_file(now)
        keys, info = _parse(data)
        retired = [KeyInfo(i.kid, i.alg, i.created, now, now + grace_seconds)
                   for i in info if i.retired is None]
        retired_kids = {i.kid for i in retired}
        kept = [i for i in info if i.kid not in retired_kids and i.published(now)]
        fresh = [_generate(alg) for alg in ALGORITHMS]
        new_info = [KeyInfo(str(k.kid), str(k.alg), now, None, None) for k in fresh]
        all_keys = {**keys, **{str(k.kid): k for k in fresh}}
        order = [*kept, *retired, *new_info]
        _write(path, _serialise(all_keys, order))
    return new_info, retired


def _generate(alg: str) -> RSAKey | ECKey:
    if alg == "RS384":
        return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS384"}, auto_kid=True)
    return ECKey.generate_key("P-384", parameters={"use": "sig", "alg": "ES384"}, auto_kid=True)


def _fresh_file(now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    fresh = [_generate(alg) for alg in ALGORITHMS]
    return _serialise({str(k.kid): k for k in fresh}, [KeyInfo(str(k.kid), str(k.alg), now, None, None) for k in fresh])


def _serialise(keys: dict[str, RSAKey | ECKey], info: list[KeyInfo]) -> dict[str, Any]:
    """A JWKS of private keys (oldest first) plus a `rotation` member with each key's dates."""
    return {
        "keys": [keys[i.kid].as_dict(private=True) for i in info],
        "rotation": {i.kid: {"created": i.created, "retired": i.retired, "published_until": i.published_until}
                     for i in info},
    }


def _parse(data: dict[str, Any]) -> tuple[dict[str, RSAKey | ECKey], list[KeyInfo]]:
    """Keys and their dates; a file from before rotation existed (no `rotation`) counts as all in use."""
    rotation = data.get("rotation") or {}
    keys: dict[str, RSAKey | ECKey] = {}
    info: list[KeyInfo] = []
    for key in KeySet.import_key_set({"keys": data["keys"]}).keys:
        assert isinstance(key, (RSAKey, ECKey))
        kid = str(key.kid)
        dates = rotation.get(kid) or {}
        keys[kid] = key
        info.append(KeyInfo(kid, str(key.alg), dates.get("created"), dates.get("retired"), dates.get("published_until")))
    return keys, info


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An advisory lock next to the key file, so two processes never rotate at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write private keys to a new file (mode 600) and move it into place atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
