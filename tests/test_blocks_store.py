"""The block store: one active block per patient and professional, found by fødselsnummer or patient reference,
lifted blocks kept as history, undo for a change whose log entry could not be written."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.blocks import AlreadyBlocked, BlocksUnavailable, BlockStore, NoSuchBlock

FNR, REF = "05838012345", "http://ehr/fhir/Patient/pas-01"
OTHER_FNR, OTHER_REF = "06838012345", "http://ehr/fhir/Patient/pas-02"
HPR = "9144889"


@pytest.fixture()
def store(tmp_path: Path) -> BlockStore:
    blocks = BlockStore(tmp_path / "blocks.sqlite")
    blocks.migrate()
    return blocks


def test_a_block_stops_the_professional_for_that_patient_only(store: BlockStore) -> None:
    placed = store.place(FNR, REF, HPR, "Kari Lege", "http://ehr/fhir/Practitioner/prac-01")
    assert placed.active and placed.practitioner_name == "Kari Lege"
    assert store.blocking(FNR, REF, HPR) == placed
    assert store.blocking(OTHER_FNR, OTHER_REF, HPR) is None
    assert store.blocking(FNR, REF, "1234567") is None


@pytest.mark.parametrize("fnr, ref", [(FNR, "http://other-ehr/fhir/Patient/77"), ("", REF)])
def test_the_block_is_found_by_fodselsnummer_or_by_reference(store: BlockStore, fnr: str, ref: str) -> None:
    """Another EHR has another patient reference but the same fødselsnummer; an EHR without one has the reference."""
    store.place(FNR, REF, HPR)
    assert store.blocking(fnr, ref, HPR) is not None


def test_an_empty_key_matches_nothing(store: BlockStore) -> None:
    store.place("", REF, HPR)
    assert store.blocking("", "", HPR) is None
    assert store.blocking(FNR, REF, "") is None


def test_blocking_twice_is_refused_with_the_block_that_holds(store: BlockStore) -> None:
    first = store.place(FNR, REF, HPR)
    with pytest.raises(AlreadyBlocked) as refused:
        store.place(FNR, "http://other-ehr/fhir/Patient/77", HPR)
    assert refused.value.block == first
    assert len(store.for_patient(FNR, REF)) == 1


def test_concurrent_placing_leaves_one_block(store: BlockStore) -> None:
    outcomes: list[str] = []

    def place() -> None:
        try:
            store.place(FNR, REF, HPR)
            outcomes.append("placed")
        except AlreadyBlocked:
            outcomes.append("already")

    threads = [threading.Thread(target=place) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already"] * 7 + ["placed"]
    assert len(store.for_patient(FNR, REF)) == 1


def test_lifting_ends_the_block_and_keeps_it_as_history(store: BlockStore) -> None:
    store.place(FNR, REF, HPR)
    lifted = store.lift(FNR, REF, HPR)
    assert not lifted.active and lifted.lifted_at
    assert store.blocking(FNR, REF, HPR) is None
    assert store.for_patient(FNR, REF) == []
    assert [b.lifted_at for b in store.for_patient(FNR, REF, include_lifted=True)] == [lifted.lifted_at]
    again = store.place(FNR, REF, HPR)  # a new block after a lift is a new row
    assert again.id != lifted.id and again.active


def test_lifting_a_block_that_does_not_exist(store: BlockStore) -> None:
    with pytest.raises(NoSuchBlock):
        store.lift(FNR, REF, HPR)
    store.place(OTHER_FNR, OTHER_REF, HPR)
    with pytest.raises(NoSuchBlock):  # another patient's block is not this patient's to lift
        store.lift(FNR, REF, HPR)
    assert store.blocking(OTHER_FNR, OTHER_REF, HPR) is not None


def test_undo_takes_back_a_change_that_could_not_be_logged(store: BlockStore) -> None:
    placed = store.place(FNR, REF, HPR)
    store.undo_place(placed)
    assert store.for_patient(FNR, REF, include_lifted=True) == []
    placed = store.place(FNR, REF, HPR)
    lifted = store.lift(FNR, REF, HPR)
    store.undo_lift(lifted)
    assert store.blocking(FNR, REF, HPR) == placed


def test_an_unreadable_store_raises_so_callers_fail_closed(tmp_path: Path) -> None:
    store = BlockStore(tmp_path / "missing-dir" / "blocks.sqlite")
    with pytest.raises(BlocksUnavailable):
        store.blocking(FNR, REF, HPR)
