"""The access log: entries written in order, chained, tamper-evident, safe under concurrent writers."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from app.access_log import AccessLog, AccessLogUnavailable, Entry


@pytest.fixture()
def fresh_log(tmp_path: Path) -> AccessLog:
    log = AccessLog(tmp_path / "access_log.sqlite")
    log.migrate()
    return log


def _lookup(patient: str = "12345678901", hpr: str = "9144889") -> Entry:
    return Entry(action="lookup", outcome="permitted", patient_ref=f"http://ehr/fhir/Patient/{patient}",
                 patient_identifier=patient, actor_name="Kari Lege", actor_hpr=hpr, what=["8867-4"])


def test_entries_come_back_newest_first_for_their_patient_only(fresh_log: AccessLog) -> None:
    first = fresh_log.append(_lookup())
    second = fresh_log.append(_lookup())
    fresh_log.append(_lookup(patient="other"))
    rows = fresh_log.for_patient("12345678901")
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["what"] == ["8867-4"] and rows[0]["actor_name"] == "Kari Lege"


def test_pages_follow_on_without_overlap(fresh_log: AccessLog) -> None:
    ids = [fresh_log.append(_lookup()) for _ in range(7)]
    page1 = fresh_log.for_patient("12345678901", limit=3)
    page2 = fresh_log.for_patient("12345678901", limit=3, before_id=page1[-1]["id"])
    page3 = fresh_log.for_patient("12345678901", limit=3, before_id=page2[-1]["id"])
    seen = [r["id"] for r in page1 + page2 + page3]
    assert seen == sorted(ids, reverse=True)


def test_verify_passes_on_fresh_log_and_names_the_edited_entry(fresh_log: AccessLog) -> None:
    ids = [fresh_log.append(_lookup()) for _ in range(5)]
    assert fresh_log.verify() is None
    with sqlite3.connect(fresh_log.path) as conn:
        conn.execute("UPDATE access_log SET actor_name = 'Someone Else' WHERE id = ?", [ids[2]])
    assert fresh_log.verify() == ids[2]


def test_verify_names_the_entry_after_a_deleted_one(fresh_log: AccessLog) -> None:
    ids = [fresh_log.append(_lookup()) for _ in range(4)]
    with sqlite3.connect(fresh_log.path) as conn:
        conn.execute("DELETE FROM access_log WHERE id = ?", [ids[1]])
    assert fresh_log.verify() == ids[2]


def test_unwritable_log_raises_so_no_data_is_returned(tmp_path: Path) -> None:
    log = AccessLog(tmp_path / "missing-dir" / "log.sqlite")
    with pytest.raises(AccessLogUnavailable):
        log.append(_lookup())


def test_concurrent_writers_keep_every_entry_and_the_chain(fresh_log: AccessLog) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(100):
                fresh_log.append(_lookup())
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert fresh_log.count() == 800
    assert fresh_log.verify() is None
