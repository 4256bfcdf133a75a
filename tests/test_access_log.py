"""The access log: entries written in order, chained, tamper-evident, safe under concurrent writers."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app import create_app, lookup
from app.access_log import AccessLog, AccessLogUnavailable, Entry, _digest, migrations
from smart.context import Launch, Organization, User
from smart.registry import Registration
from tests.conftest import TEST_SECRET


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


# --- The citizen's views of the log: sections, filters, both patient keys; old entries; the lookup path ---------

def _own_view(patient: str = "12345678901", action: str = "lookup") -> Entry:
    return Entry(action=action, outcome="permitted", patient_ref=f"http://ehr/fhir/Patient/{patient}",
                 patient_identifier=patient, actor_type="citizen", actor_name="Ola Pasient", basis="own-data")


def test_own_views_come_apart_from_everything_else(fresh_log: AccessLog) -> None:
    lookup_id = fresh_log.append(_lookup())
    own_ids = [fresh_log.append(_own_view()), fresh_log.append(_own_view(action="view-log"))]
    block_id = fresh_log.append(Entry(**{**_own_view().__dict__, "action": "block", "target_hpr": "9144889"}))
    others = [r["id"] for r in fresh_log.for_patient("12345678901", own=False)]
    own = [r["id"] for r in fresh_log.for_patient("12345678901", own=True)]
    assert others == [block_id, lookup_id]  # the citizen's blocks are listed with the lookups they are about
    assert own == own_ids[::-1]
    assert sorted(others + own) == sorted(r["id"] for r in fresh_log.for_patient("12345678901"))


def test_entries_under_either_key_are_merged_newest_first_without_duplicates(fresh_log: AccessLog) -> None:
    ref = "http://ehr/fhir/Patient/12345678901"
    by_both = fresh_log.append(_lookup())
    by_ref_only = fresh_log.append(Entry(action="lookup", outcome="failed", patient_ref=ref, actor_hpr="9144889"))
    by_fnr_elsewhere = fresh_log.append(Entry(action="lookup", outcome="permitted", patient_ref="http://other/Patient/9",
                                              patient_identifier="12345678901"))
    rows = fresh_log.for_patient("12345678901", ref)
    assert [r["id"] for r in rows] == [by_fnr_elsewhere, by_ref_only, by_both]
    assert [r["id"] for r in fresh_log.for_patient("12345678901", ref, limit=2, before_id=by_fnr_elsewhere)] == \
        [by_ref_only, by_both]
    assert fresh_log.for_patient("", "") == []


def test_filters_by_person_and_period(fresh_log: AccessLog) -> None:
    jan = fresh_log.append(_lookup(hpr="1111111"), now=datetime(2026, 1, 10, 12, tzinfo=timezone.utc))
    feb = fresh_log.append(_lookup(hpr="2222222"), now=datetime(2026, 2, 10, 12, tzinfo=timezone.utc))
    mar = fresh_log.append(_lookup(hpr="1111111"), now=datetime(2026, 3, 10, 12, tzinfo=timezone.utc))

    def ids(**filters: str) -> list[int]:
        return [r["id"] for r in fresh_log.for_patient("12345678901", **filters)]

    assert ids(actor_hpr="1111111") == [mar, jan]
    assert ids(since="2026-02-01T00:00:00.000+00:00") == [mar, feb]
    assert ids(until="2026-02-01T00:00:00.000+00:00") == [jan]
    assert ids(actor_hpr="1111111", since="2026-02-01T00:00:00.000+00:00") == [mar]


def test_entries_written_before_the_target_columns_still_verify(tmp_path: Path) -> None:
    """m003 added columns; rows written before it hold NULL there and must hash as they did when written."""
    log = AccessLog(tmp_path / "old.sqlite")
    migrations.apply(log._db(), stop_before="m003_add_target")
    conn = log._db().conn
    old = {k: v for k, v in _lookup().__dict__.items() if k not in ("target_hpr", "target_name")}
    old.update(what='["8867-4"]', at="2025-06-01T10:00:00.000+00:00", prev_hash="0" * 64)
    old["hash"] = _digest(old["prev_hash"], old)
    conn.execute(f"INSERT INTO access_log ({', '.join(old)}) VALUES ({', '.join('?' for _ in old)})", list(old.values()))
    log.migrate()
    log.append(_lookup())
    assert log.count() == 2 and log.verify() is None


def test_eight_threads_of_500_lookups_give_4000_entries_and_an_intact_chain(tmp_path: Path) -> None:
    """The lookup's own log-writing path (block check, then `lookup.write`), in the app, 8 threads × 500.

    The FHIR reads around it are left out: 4,000 HTTP lookups would take minutes on two cores and test the
    sandbox, not the log. `make bench` measures whole lookups per second.
    """
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": TEST_SECRET})
    registration = Registration(issuer="http://ehr.test/fhir", client_id="pmd", name="Test EHR")
    errors: list[BaseException] = []

    def clinician(n: int) -> Launch:
        user = User("practitioner", f"Practitioner/p{n}", f"Lege {n}", f"91448{n:02d}", "Lege",
                    Organization("Organization/o", "Asker kommune", "974600951"))
        return Launch("pas-01", "http://ehr.test/fhir", user, True, None, (), registration, None, None, None, 0)

    def worker(n: int) -> None:
        launch = clinician(n)
        try:
            with app.app_context():
                for _ in range(500):
                    lookup.refuse_if_blocked(launch, "12345678901", what=lookup.all_vitals(),
                                             period=lookup.Period(None, None))
                    lookup.write(lookup.entry_for(launch, outcome="permitted", what=lookup.all_vitals(),
                                                  period=lookup.Period(None, None), patient_identifier="12345678901"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = app.extensions["access_log"]
    assert not errors
    assert log.count() == 4000
    assert log.verify() is None
    assert len(log.for_patient("12345678901", limit=5000)) == 4000
