"""Rotating the app's signing keys: the new key signs at once, the old one stays published for its grace
period, a running app (another AppKeys on the same folder) picks the rotation up, and old key files still load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from app.cli import main
from smart.keys import FILE_NAME, AppKeys, rotate

GRACE = 100.0


def _published(keys: AppKeys, now: float) -> set[str]:
    return {k["kid"] for k in keys.public_jwks(now)["keys"]}


def test_new_key_signs_and_old_one_is_published_for_the_grace_period(tmp_path: Path) -> None:
    running = AppKeys.load_or_create(tmp_path)
    old = {alg: running.signing_key(alg).kid for alg in ("RS384", "ES384")}
    new, retired = rotate(tmp_path, GRACE, now=1000.0)
    assert {k.kid for k in retired} == set(old.values())
    assert {k.alg: k.kid for k in new} == {alg: running.signing_key(alg).kid for alg in ("RS384", "ES384")}
    assert _published(running, 1000.0 + GRACE - 1) == set(old.values()) | {k.kid for k in new}
    assert _published(running, 1000.0 + GRACE) == {k.kid for k in new}
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o077 == 0


def test_keys_past_their_grace_are_dropped_at_the_next_rotation(tmp_path: Path) -> None:
    AppKeys.load_or_create(tmp_path)
    first, _ = rotate(tmp_path, GRACE, now=1000.0)
    second, retired = rotate(tmp_path, GRACE, now=1000.0 + 2 * GRACE)
    assert {k.kid for k in retired} == {k.kid for k in first}
    stored = json.loads((tmp_path / FILE_NAME).read_text())
    assert {k["kid"] for k in stored["keys"]} == {k.kid for k in first} | {k.kid for k in second}


def test_key_file_from_before_rotation_still_loads(tmp_path: Path) -> None:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS384"}, auto_kid=True)
    (tmp_path / FILE_NAME).write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    keys = AppKeys.load_or_create(tmp_path)
    assert keys.signing_key("RS384").kid == key.kid
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == [key.kid]


def test_pmd_keys_rotate_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PMD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PMD_KEY_GRACE_SECONDS", "3600")
    running = AppKeys.load_or_create(tmp_path)
    old = running.signing_key("RS384").kid
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert f"Old RS384 key {old} stays in the JWKS until" in out
    assert main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum("signing" in line for line in lines) == 2
    assert any(old in line and "retired, published until" in line for line in lines)
    assert running.signing_key("RS384").kid != old
