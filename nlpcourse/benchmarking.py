"""Fair timing of several variants: one warm-up each, interleaved rounds, the median kept."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from nlpcourse.efficient import _synchronize


def interleaved_median_seconds(
    variants: Mapping[str, Callable[[], Any]], repeats: int = 3, warmup: int = 1
) -> dict[str, float]:
    """Median seconds of each variant's call: ``warmup`` untimed calls each, then ``repeats``
    rounds in which every variant runs once (so a change in machine load hits all alike)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}.")
    if not variants:
        raise ValueError("No variants to time.")
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            _synchronize()  # a GPU is timed doing the work, not launching it
            start = time.perf_counter()
            fn()
            _synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
