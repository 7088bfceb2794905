"""Fair timing: the same inputs for every variant, warm-up, interleaved repeats, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nlpcourse.efficient import _synchronize


def compare_seconds(
    fns: Mapping[str, Callable[[], Any]], repeats: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each ``fn()``, warmed up, repeats taken in turns."""
    if not fns:
        raise ValueError("give at least one function to time: {name: fn}.")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}.")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):  # in turns, so that a load change hits every variant alike
        for name, fn in fns.items():
            _synchronize()
            start = time.perf_counter()
            fn()
            _synchronize()
            times[name].append(time.perf_counter() - start)
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
