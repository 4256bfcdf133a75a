"""Performance figures: `make bench` (`python -m tests.bench [name …]`).

Each benchmark is a small named function that gets a `Bench` (a temporary folder and, on first use, the app and
the sandbox EHR on loopback) and returns the lines it prints. Figures that must hold on any machine are printed
as ratios measured within the same run, never as absolute timings. Add a benchmark with `@benchmark("name")`.
"""
from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import requests

from app import lookup
from app.access_log import AccessLog, Entry
from smart.client import current_client
from smart.context import Launch, User
from smart.sandbox import create_sandbox
from tests.citizen_steps import FNR_SYSTEM, app_pair, base, citizen_launch, clinician_launch, identifier, people, person
from tests.conftest import TEST_SECRET
from tests.servers import LiveServer

BENCHMARKS: list[tuple[str, Callable[["Bench"], list[str]]]] = []
PAGE_RATIO_GOAL = 1.5


def benchmark(name: str) -> Callable[[Callable[["Bench"], list[str]]], Callable[["Bench"], list[str]]]:
    def register(func: Callable[["Bench"], list[str]]) -> Callable[["Bench"], list[str]]:
        BENCHMARKS.append((name, func))
        return func
    return register


class Bench:
    """What benchmarks share: a temporary folder, and the app + sandbox pair started once when first asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = ExitStack()
        self._pair: LiveServer | None = None

    @property
    def pair(self) -> LiveServer:
        if self._pair is None:
            seed = self.folder / "seed"
            create_sandbox({"INSTANCE_PATH": str(seed), "SECRET_KEY": TEST_SECRET, "SANDBOX_DENSE_OBSERVATIONS": 2000})
            self._pair = self._stack.enter_context(app_pair(seed / "sandbox.sqlite", self.folder / "pair"))
        return self._pair

    def close(self) -> None:
        self._stack.close()


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _ok(response: requests.Response) -> requests.Response:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response


@benchmark("lookups per second, with log writes")
def lookups(bench: Bench) -> list[str]:
    """Whole lookups over HTTP (Patient read, block check, log write, Observations, charts), then the log path alone."""
    pair = bench.pair
    browser = person()
    api = base(clinician_launch(browser, pair, "pas-01", "prac-01")) + "api/vitals"
    for _ in range(3):
        _ok(browser.get(api, timeout=60))
    count = 30
    started = time.perf_counter()
    for _ in range(count):
        _ok(browser.get(api, timeout=60))
    serial = count / (time.perf_counter() - started)

    def client() -> None:
        for _ in range(10):
            _ok(browser.get(api, timeout=60))

    threads = [threading.Thread(target=client) for _ in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = 40 / (time.perf_counter() - started)

    app = pair.app
    with app.app_context():
        registration = current_client().registry.find(f"{pair.sandbox.url}/fhir")  # type: ignore[attr-defined]
    assert registration is not None
    user = User("practitioner", "Practitioner/prac-01", "Bench", "9999999", "", None)
    launch = Launch("pas-01", registration.issuer, user, True, None, (), registration, None, None, None, 0)
    writes = 1000
    with app.app_context():
        started = time.perf_counter()
        for _ in range(writes):
            lookup.refuse_if_blocked(launch, "05838012345", what=lookup.all_vitals(), period=lookup.Period(None, None))
            lookup.write(lookup.entry_for(launch, outcome="permitted", what=lookup.all_vitals(),
                                          period=lookup.Period(None, None), patient_identifier="05838012345"))
        log_path = writes / (time.perf_counter() - started)
    return [
        f"HTTP lookups of a 90-day patient, 1 client:   {serial:7.1f} /s",
        f"HTTP lookups, 4 clients at once:             {parallel:7.1f} /s",
        f"log path alone (block check + chained write): {log_path:7.0f} /s (one transaction each)",
        f"share of one lookup spent on the log path:    {100 * serial / log_path:7.1f} %",
    ]


def _fill(path: Path, size: int, fnr: str, ref: str) -> None:
    """A log of `size` entries: nine in ten about this patient (mostly professionals, a few own views), the rest others."""
    log = AccessLog(path)
    log.migrate()
    log._db().conn.execute("PRAGMA synchronous=OFF")  # filling only; the app's own connection stays durable
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    step = timedelta(days=700) / size
    for n in range(size):
        mine = n % 10 != 0
        own = mine and n % 33 == 0
        log.append(Entry(
            action="lookup", outcome="refused" if n % 97 == 0 else "permitted", reason="blocked" if n % 97 == 0 else "",
            patient_ref=ref if mine else f"{ref}-other-{n % 50}", patient_identifier=fnr if mine else f"0{n % 50:02d}",
            actor_type="citizen" if own else "practitioner", actor_name="Ola Pasient" if own else f"Lege {n % 20}",
            actor_hpr="" if own else str(9100000 + n % 20), actor_role="" if own else "Lege",
            actor_org="" if own else "Asker kommune", what=["8867-4", "8480-6", "2708-6"],
            basis="own-data" if own else "care-relationship", system_name="Bench-EHR"), now=start + n * step)


@benchmark("access log page at 1,000 / 10,000 / 100,000 entries")
def log_page(bench: Bench) -> list[str]:
    """The citizen's log page (25 entries in each section) must cost the same whatever the log's size.

    The logs are filled first and flushed to disk, then the sizes are measured in turns (1k, 10k, 100k, 1k, …) so
    that background writes and warm-up fall on every size alike; the figure is the median per size.
    """
    pair = bench.pair
    patients, _ = people(pair)
    fnr = identifier(patients["pas-01"], FNR_SYSTEM)
    ref = f"{pair.sandbox.url}/fhir/Patient/pas-01"  # type: ignore[attr-defined]
    browser = person()
    page_url = base(citizen_launch(browser, pair, "pas-01")) + "access-log"
    sizes = (1_000, 10_000, 100_000)
    logs = {}
    for size in sizes:
        _fill(bench.folder / f"log-{size}.sqlite", size, fnr, ref)
        logs[size] = AccessLog(bench.folder / f"log-{size}.sqlite")
    os.sync()
    app = pair.app
    original = app.extensions["access_log"]
    first: dict[int, list[float]] = {size: [] for size in sizes}
    deep: dict[int, list[float]] = {size: [] for size in sizes}
    try:
        for turn in range(31):
            for size in sizes:
                app.extensions["access_log"] = logs[size]
                newest = _median_ms(lambda: _ok(browser.get(page_url, timeout=60)), 1)
                middle = _median_ms(lambda: _ok(browser.get(page_url, params={"before": size // 2}, timeout=60)), 1)
                if turn:  # the first turn warms up each log
                    first[size].append(newest)
                    deep[size].append(middle)
    finally:
        app.extensions["access_log"] = original
    lines = [f"{size:>7,} entries: newest page {statistics.median(first[size]):6.1f} ms, "
             f"a page in the middle {statistics.median(deep[size]):6.1f} ms" for size in sizes]
    for label, times in (("newest page", first), ("middle page", deep)):
        ratio = statistics.median(times[100_000]) / statistics.median(times[1_000])
        verdict = "OK" if ratio <= PAGE_RATIO_GOAL else "OVER GOAL"
        lines.append(f"ratio 100,000 / 1,000 entries, {label}: {ratio:4.2f} (goal ≤ {PAGE_RATIO_GOAL}) {verdict}")
    return lines


@benchmark("vitals shaping: normalise, charts and tables per 1,000 Observations")
def shaping(bench: Bench) -> list[str]:
    """The app's own work on what the FHIR server returned, for a 90-day patient and the dense year.

    It should grow with the number of Observations and no faster: the per-1,000 cost of the dense year over the
    90-day patient's is printed as a ratio (goal ≤ 1.5); drawing is capped, tables keep every value.
    """
    from app import charts
    from app.vitals import normalise
    from smart.sandbox import search
    from smart.sandbox.db import connect
    from smart.sandbox.store import FhirStore
    from smart.sandbox.synthetic import DENSE_PATIENT_ID

    seed = bench.folder / "dense-seed"
    create_sandbox({"INSTANCE_PATH": str(seed), "SECRET_KEY": TEST_SECRET})
    db = connect(seed / "sandbox.sqlite")
    try:
        store = FhirStore(db)

        def everything(patient: str) -> list[dict]:
            found, offset = [], 0
            while True:
                page = store.search("Observation", search.parse(
                    "Observation", [("patient", patient), ("_count", "1000"), ("_offset", str(offset))]))
                found += page.resources
                offset += 1000
                if offset >= page.total:
                    return found

        small, dense = everything("pas-01"), everything(DENSE_PATIENT_ID)
    finally:
        db.conn.close()

    def shape(observations: list[dict]) -> None:
        series = normalise(observations)
        charts.figures(series)
        for chart in charts.CHARTS:
            charts.table(chart, series)

    small_ms, dense_ms = _median_ms(lambda: shape(small), 7), _median_ms(lambda: shape(dense), 3)
    per_small, per_dense = small_ms / len(small) * 1000, dense_ms / len(dense) * 1000
    ratio = per_dense / per_small
    return [
        f"90-day patient: {len(small):6,} Observations in {small_ms:7.1f} ms ({per_small:6.1f} ms per 1,000)",
        f"dense year:     {len(dense):6,} Observations in {dense_ms:7.1f} ms ({per_dense:6.1f} ms per 1,000)",
        f"ratio per 1,000, dense / 90-day: {ratio:.2f} (goal ≤ {PAGE_RATIO_GOAL}) {'OK' if ratio <= PAGE_RATIO_GOAL else 'OVER'}",
    ]


def main(argv: list[str]) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown the figures
    chosen = [(name, func) for name, func in BENCHMARKS if not argv or any(a in name for a in argv)]
    with tempfile.TemporaryDirectory(prefix="pmd-bench-") as folder:
        bench = Bench(Path(folder))
        try:
            for name, func in chosen:
                print(f"== {name}", flush=True)
                for line in func(bench):
                    print(f"   {line}", flush=True)
        finally:
            bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
