"""Downsampling long series for drawing: capped in size, extremes and endpoints always visible."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import pytest

from app.downsample import downsample
from app.vitals import Point

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
SPIKES = {1000: 140.0, 3000: 120.0, 5000: 150.0, 7000: 40.0, 9000: 35.0, 13000: 145.0, 17000: 30.0, 19000: 130.0}


@pytest.fixture(scope="module")
def dense_heart_rate() -> list[Point]:
    """20,000 heart rates every 15 minutes: a slow wave with noise and a few single-sample spikes."""
    rnd = random.Random(20250123)
    return [
        Point(START + timedelta(minutes=15 * i), SPIKES.get(i, 70 + 10 * math.sin(i / 50) + 3 * rnd.random()),
              "/min", f"hr{i}")
        for i in range(20_000)
    ]


@pytest.mark.parametrize("max_points", [5, 50, 500, 2000])
def test_a_long_series_is_capped_at_max_points(dense_heart_rate, max_points):
    assert len(downsample(dense_heart_rate, max_points)) <= max_points


@pytest.mark.parametrize("max_points", [5, 50, 500, 2000])
def test_first_last_minimum_and_maximum_are_always_kept(dense_heart_rate, max_points):
    kept = downsample(dense_heart_rate, max_points)
    assert kept[0] is dense_heart_rate[0]
    assert kept[-1] is dense_heart_rate[-1]
    assert min(p.value for p in kept) == 30.0
    assert max(p.value for p in kept) == 150.0


@pytest.mark.parametrize("max_points", [200, 1000])
def test_every_single_sample_spike_stays_visible(dense_heart_rate, max_points):
    kept_ids = {p.observation_id for p in downsample(dense_heart_rate, max_points)}
    assert {f"hr{i}" for i in SPIKES} <= kept_ids


def test_kept_points_are_original_points_in_time_order(dense_heart_rate):
    kept = downsample(dense_heart_rate, 300)
    originals = {id(p) for p in dense_heart_rate}
    assert all(id(p) in originals for p in kept)
    assert [p.time for p in kept] == sorted(p.time for p in kept)
    assert len({p.time for p in kept}) == len(kept)


def test_unsorted_input_comes_back_in_time_order(dense_heart_rate):
    shuffled = list(dense_heart_rate)
    random.Random(1).shuffle(shuffled)
    kept = downsample(shuffled, 300)
    assert [p.time for p in kept] == sorted(p.time for p in kept)
    assert kept[0] is dense_heart_rate[0] and kept[-1] is dense_heart_rate[-1]


@pytest.mark.parametrize("length", [0, 1, 7, 100])
def test_a_series_not_longer_than_max_points_is_returned_unchanged(dense_heart_rate, length):
    series = dense_heart_rate[:length]
    assert downsample(series, 100) == series


@pytest.mark.parametrize("max_points", [-1, 0, 2, 4])
def test_too_small_a_budget_is_refused_clearly(dense_heart_rate, max_points):
    with pytest.raises(ValueError, match="at least 5"):
        downsample(dense_heart_rate, max_points)
