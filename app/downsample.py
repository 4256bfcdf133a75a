"""Thin long time series out for drawing, without hiding the peaks a clinician must see.

Uses MinMaxLTTB from tsdownsample (Van Der Donckt et al., "MinMaxLTTB: Leveraging MinMax-Preselection to Scale
LTTB", 2023): min-max preselection keeps extremes, LTTB keeps the shape. Only the chart is thinned; tables and
exports keep every value.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence, TypeVar

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

MIN_POINTS = 5
"""LTTB needs at least 3 points out; two more are reserved for the global minimum and maximum."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class TimedValue(Protocol):
    time: datetime
    value: float


P = TypeVar("P", bound=TimedValue)


def downsample(points: Sequence[P], max_points: int) -> list[P]:
    """At most `max_points` of `points`, in time order; first, last, global minimum and maximum are always kept.

    A series no longer than `max_points` comes back unchanged.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    if len(points) <= max_points:
        return list(points)
    ordered = sorted(points, key=lambda p: p.time)
    x = np.fromiter(((p.time - _EPOCH) // _MICROSECOND for p in ordered), dtype=np.int64, count=len(ordered))
    y = np.fromiter((p.value for p in ordered), dtype=np.float64, count=len(ordered))
    chosen = MinMaxLTTBDownsampler().downsample(x, y, n_out=max_points - 2)
    keep = set(chosen.tolist()) | {0, len(ordered) - 1, int(np.argmin(y)), int(np.argmax(y))}
    return [ordered[i] for i in sorted(keep)]
