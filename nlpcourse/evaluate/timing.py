"""Fair timing: warm-up, the same inputs for every variant, interleaved repeats, medians.

Every timing in the course goes through :func:`compare_seconds` (or :func:`median_seconds` for
one function): each variant is warmed up, then the variants run in turns so that a change in
machine load hits them all alike, and the median is kept. On a GPU the clock waits for the
device before and after each call (kernels run asynchronously).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn


def synchronize() -> None:
    """Wait for queued GPU work: CUDA and MPS kernels run asynchronously."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    if torch.backends.mps.is_available():
        torch.mps.synchronize()


def _check_counts(repeats: int, warmup: int) -> None:
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}.")


def _seconds(fn: Callable[[], Any]) -> float:
    synchronize()  # wait before and after, or a GPU is timed launching work, not doing it
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def median_seconds(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    _check_counts(repeats, warmup)
    for _ in range(warmup):
        fn()
    return statistics.median(_seconds(fn) for _ in range(repeats))


def compare_seconds(
    fns: Mapping[str, Callable[[], Any]], repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each ``fn()``, warmed up, repeats taken in turns."""
    if not fns:
        raise ValueError("give at least one function to time: {name: fn}.")
    _check_counts(repeats, warmup)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):  # in turns, so that a load change hits every variant alike
        for name, fn in fns.items():
            times[name].append(_seconds(fn))
    return {name: statistics.median(values) for name, values in times.items()}


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
                times[name].append(_seconds(lambda: step(batch)))  # noqa: B023 - called at once
    return {name: statistics.median(values) for name, values in times.items()}


def inference_throughput(
    models: Mapping[str, nn.Module],
    batches: Sequence[tuple[torch.Tensor, ...]],
    repeats: int = 5,
    warmup: int = 1,
) -> dict[str, dict[str, float]]:
    """Samples/s and tokens/s of each model's forward pass over the same ``(ids, lengths, …)``
    batches (taken once, e.g. ``list(islice(loader, n))``), in eval mode, median of repeats."""
    if not batches:
        raise ValueError("no batches to time: take a few with list(islice(loader, n)).")
    if not models:
        raise ValueError("give at least one model to time: {name: model}.")
    device = next(next(iter(models.values())).parameters()).device
    batches = [tuple(t.to(device) for t in batch[:2]) for batch in batches]  # moved once
    samples = sum(int(batch[0].shape[0]) for batch in batches)
    tokens = sum(int(batch[1].sum()) for batch in batches)

    def runner(model: nn.Module) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for ids, lengths in batches:
                    model(ids, lengths)

        return run

    for model in models.values():
        model.eval()
    seconds = compare_seconds(
        {name: runner(model) for name, model in models.items()}, repeats, warmup
    )
    return {
        name: {"seconds": s, "samples_per_s": samples / s, "tokens_per_s": tokens / s}
        for name, s in seconds.items()
    }
