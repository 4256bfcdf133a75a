"""`pmd log verify`: passes on a fresh log, fails naming the entry when one row is edited in the SQLite file."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.access_log import AccessLog, Entry
from app.cli import main


@pytest.fixture()
def log_file(tmp_path: Path) -> Path:
    log = AccessLog(tmp_path / "access_log.sqlite")
    log.migrate()
    for n in range(6):
        log.append(Entry(action="lookup", outcome="permitted", patient_ref="http://ehr/fhir/Patient/pas-01",
                         patient_identifier="05838012345", actor_name=f"Lege {n}", actor_hpr="9144889"))
    return tmp_path / "access_log.sqlite"


def test_verify_passes_on_an_intact_log(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "verify", "--path", str(log_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK") and "6 entries" in out


@pytest.mark.parametrize("tamper, broken", [
    ("UPDATE access_log SET actor_name = 'Someone Else' WHERE id = 4", 4),
    ("UPDATE access_log SET outcome = 'refused' WHERE id = 1", 1),
    ("DELETE FROM access_log WHERE id = 3", 4),
    ("UPDATE access_log SET at = '2020-01-01T00:00:00.000+00:00' WHERE id = 6", 6),
])
def test_verify_fails_and_names_the_first_broken_entry(log_file: Path, capsys: pytest.CaptureFixture[str],
                                                       tamper: str, broken: int) -> None:
    with sqlite3.connect(log_file) as conn:
        conn.execute(tamper)
    assert main(["log", "verify", "--path", str(log_file)]) == 1
    assert f"entry {broken} " in capsys.readouterr().out


def test_verify_as_a_command_reads_the_instance_folder(log_file: Path) -> None:
    """The installed `pmd` command, as an operator runs it, finds the log from PMD_INSTANCE_PATH."""
    env = {**os.environ, "PMD_INSTANCE_PATH": str(log_file.parent)}
    ok = subprocess.run([sys.executable, "-m", "app.cli", "log", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and str(log_file) in ok.stdout
    with sqlite3.connect(log_file) as conn:
        conn.execute("UPDATE access_log SET actor_hpr = '1111111' WHERE id = 2")
    bad = subprocess.run([sys.executable, "-m", "app.cli", "log", "verify"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "entry 2 " in bad.stdout


@pytest.mark.parametrize("content", [None, b"not a database at all", b""])
def test_no_readable_log_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None) -> None:
    path = tmp_path / "access_log.sqlite"
    if content is not None:
        path.write_bytes(content)
    assert main(["log", "verify", "--path", str(path)]) == 2
    assert str(path) in capsys.readouterr().err
