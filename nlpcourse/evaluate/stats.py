"""Uncertainty for comparisons: mean ± sd over seeds, bootstrap intervals over evaluation rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A point estimate with a (low, high) interval at ``level`` (e.g. 0.95)."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero (a measurable difference)."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.estimate:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError("mean_sd needs at least one value.")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def format_mean_sd(values: Sequence[float], digits: int = 4) -> str:
    """``"0.8123 ± 0.0041 (n=3)"``: how the course prints a result over seeds."""
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f} (n={len(values)})"


def _correct(y_true: Any, y_pred: Any) -> np.ndarray:
    true, pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if true.shape != pred.shape:
        raise ValueError(f"{true.size} labels but {pred.size} predictions.")
    if true.size == 0:
        raise ValueError("No rows to evaluate: the labels are empty.")
    return (true == pred).astype(float)


def _interval(estimate: float, samples: np.ndarray, level: float) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), level)


def bootstrap_accuracy(
    y_true: Any, y_pred: Any, n_boot: int = 2_000, level: float = 0.95, seed: int = 0
) -> Interval:
    """Accuracy with a percentile bootstrap interval over the evaluation rows."""
    correct = _correct(y_true, y_pred)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, correct.size, size=(n_boot, correct.size))
    return _interval(correct.mean(), correct[rows].mean(axis=1), level)


def bootstrap_mean(
    values: Any, n_boot: int = 2_000, level: float = 0.95, seed: int = 0
) -> Interval:
    """The mean of ``values`` (e.g. per-pair flips) with a percentile bootstrap interval."""
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 0:
        raise ValueError("bootstrap_mean needs at least one value.")
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, array.size, size=(n_boot, array.size))
    return _interval(array.mean(), array[rows].mean(axis=1), level)


def paired_bootstrap(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    n_boot: int = 2_000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Accuracy of A minus accuracy of B, with a paired bootstrap interval over the rows.

    Both models are scored on the same resampled rows, so row difficulty cancels out. The
    interval covers the evaluation sample only, not seed-to-seed variation of training.
    """
    diff = _correct(y_true, pred_a) - _correct(y_true, pred_b)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, diff.size, size=(n_boot, diff.size))
    return _interval(diff.mean(), diff[rows].mean(axis=1), level)


def paired_seed_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean and sd of ``a[i] - b[i]`` over seeds run in pairs (same seed, same data order)."""
    if len(a) != len(b):
        raise ValueError(f"Paired runs need equal counts, got {len(a)} and {len(b)}.")
    return mean_sd([x - y for x, y in zip(a, b, strict=True)])


def detectable_difference(n_rows: int, disagreement: float, level: float = 0.95) -> float:
    """Smallest accuracy difference a paired comparison on ``n_rows`` rows can tell from zero.

    Two classifiers that disagree on a share ``disagreement`` of the rows have a per-row
    difference of +1, -1 or 0; near a true difference of zero its standard error is
    ``sqrt(disagreement / n_rows)``. The returned half-width, ``z * sqrt(disagreement / n_rows)``
    with ``z`` the two-sided normal quantile at ``level`` (1.96 at 95 %), is the difference at
    which a paired interval just excludes zero: a smaller true difference usually reads as
    "no difference measurable".
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}.")
    if not 0 <= disagreement <= 1:
        raise ValueError(f"disagreement is a share of rows in [0, 1], got {disagreement}.")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}.")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return float(z * math.sqrt(disagreement / n_rows))


def disagreement_rate(pred_a: Any, pred_b: Any) -> float:
    """Share of rows on which two classifiers predict different labels."""
    a, b = np.asarray(pred_a).reshape(-1), np.asarray(pred_b).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"Need two equal, non-empty prediction arrays, got {a.size} and {b.size}.")
    return float((a != b).mean())


def min_detectable_difference(
    n_rows: int, row_sd: float = 0.5, level: float = 0.95, power: float = 0.8
) -> float:
    """Smallest true difference in a mean over ``n_rows`` that the evaluation would detect.

    A two-sided test at ``level`` finds a true difference this large with probability
    ``power``: ``(z[1 - (1 - level) / 2] + z[power]) * row_sd / sqrt(n_rows)``. ``row_sd`` is
    the standard deviation of one row's score: 0.5 is the worst case for one accuracy; for two
    models scored on the same rows, use the sd of the per-row differences in correctness.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}.")
    if row_sd < 0:
        raise ValueError(f"row_sd must be non-negative, got {row_sd}.")
    if not (0 < level < 1 and 0 < power < 1):
        raise ValueError(f"level and power must lie in (0, 1), got {level} and {power}.")
    z = NormalDist().inv_cdf
    return (z(1 - (1 - level) / 2) + z(power)) * row_sd / math.sqrt(n_rows)


def cluster_bootstrap_mean(
    values: Any, clusters: Any, n_boot: int = 2_000, level: float = 0.95, seed: int = 0
) -> Interval:
    """The mean of ``values`` with a bootstrap interval that resamples whole clusters.

    Rows that share a cluster (e.g. sentences filled from one template) are not independent;
    drawing clusters with replacement, all their rows together, keeps that dependence in the
    interval. The estimate is the plain mean over rows; each resample's mean weighs clusters by
    their sizes.
    """
    array = np.asarray(values, dtype=float).reshape(-1)
    groups = np.asarray(clusters).reshape(-1)
    if array.size == 0 or array.size != groups.size:
        raise ValueError(f"need one cluster id per value, got {array.size} values, {groups.size}.")
    ids, inverse = np.unique(groups, return_inverse=True)
    if len(ids) < 2:
        raise ValueError("a cluster bootstrap needs at least two clusters.")
    sums = np.bincount(inverse, weights=array)  # (clusters,)
    counts = np.bincount(inverse).astype(float)  # (clusters,)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(ids), size=(n_boot, len(ids)))  # (n_boot, clusters)
    return _interval(array.mean(), sums[draws].sum(axis=1) / counts[draws].sum(axis=1), level)


def interval_min_detectable_difference(interval: Interval, power: float = 0.8) -> float:
    """The smallest true difference this interval's width would detect with ``power``.

    With a roughly normal estimate of standard error ``se`` (half-width / z), a true
    difference of ``(z_{level} + z_{power}) · se`` excludes zero with probability ``power``:
    about 1.43 × the half-width of a 95 % interval at 80 % power.
    """
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power}.")
    normal = NormalDist()
    z_level = normal.inv_cdf(0.5 + interval.level / 2)
    half_width = (interval.high - interval.low) / 2
    return float(half_width / z_level * (z_level + normal.inv_cdf(power)))
