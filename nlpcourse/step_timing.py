"""Fair timing of training steps: the same pre-built batches for every setting, in turns."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nlpcourse.efficient import median_seconds


def compare_step_seconds(
    steps: Mapping[str, Callable[[Any], Any]],
    batches: Sequence[Any],
    rounds: int = 3,
    warmup: int = 1,
) -> dict[str, float]:
    """Median seconds of one training step per setting, every setting fed the same batches.

    ``steps[name](batch)`` does one forward, backward and update. Each setting first runs
    ``warmup`` untimed steps; then ``rounds`` times, setting after setting, every batch is timed
    once, so a change in machine load hits all settings alike.
    """
    if not steps:
        raise ValueError("give at least one setting to time.")
    if not batches:
        raise ValueError("give at least one batch to time the steps on.")
    if rounds < 1 or warmup < 0:
        raise ValueError(f"need rounds >= 1 and warmup >= 0, got {rounds} and {warmup}.")
    for step in steps.values():
        for i in range(warmup):
            step(batches[i % len(batches)])
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            for batch in batches:
                times[name].append(median_seconds(lambda: step(batch), repeats=1, warmup=0))  # noqa: B023
    return {name: statistics.median(values) for name, values in times.items()}
