"""Comparisons paired by seed: mean ± sd of the differences, a t interval, and Holm's correction
for reading several verdicts from one table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nlpcourse.evaluate.stats import paired_seed_difference


@dataclass(frozen=True)
class SeedTest:
    """A paired-by-seed difference: mean, sd, a t interval over seeds and its two-sided p."""

    mean: float
    sd: float
    low: float
    high: float
    p: float


def paired_seed_test(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> SeedTest:
    """Mean ± sd of ``a[i] - b[i]``, with a t interval and p-value over the seeds (n - 1 df).

    The seeds are the units: the interval covers training noise on these evaluation rows,
    not the choice of rows.
    """
    from scipy import stats

    mean, sd = paired_seed_difference(a, b)
    n = len(a)
    if n < 2:
        raise ValueError(f"a t interval needs at least 2 paired seeds, got {n}.")
    half = stats.t.ppf((1 + level) / 2, n - 1) * sd / np.sqrt(n)
    p = 1.0 if sd == 0 and mean == 0 else float(stats.ttest_1samp(np.subtract(a, b), 0).pvalue)
    if sd == 0 and mean != 0:
        p = 0.0
    return SeedTest(mean, sd, mean - half, mean + half, p)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values: reject where < alpha keeps P(any false pass) <= alpha."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    adjusted, running = [0.0] * m, 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def chance_passes(verdicts: int, level: float = 0.95) -> tuple[float, float]:
    """If nothing differed: expected false passes among ``verdicts``, and P(at least one)."""
    return verdicts * (1 - level), 1 - level**verdicts


def seed_comparison_table(
    accuracies: Mapping[str, Sequence[float]],
    against: Mapping[str, str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Accuracy mean ± sd per variant; difference to its counterpart paired by seed, with a t
    interval, p, Holm-adjusted p and a verdict read from the adjusted p."""
    rows = {}
    for name, values in accuracies.items():
        rows[name] = {"accuracy": float(np.mean(values)), "sd": float(np.std(values, ddof=1))}
        if name in against:
            test = paired_seed_test(values, accuracies[against[name]], level)
            rows[name].update(
                against=against[name],
                difference=test.mean,
                **{"diff sd": test.sd, "diff low": test.low, "diff high": test.high, "p": test.p},
            )
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(list(accuracies))
    compared = table["p"].notna()
    table.loc[compared, "Holm p"] = holm(list(table.loc[compared, "p"]))
    alpha = 1 - level
    table["verdict"] = [
        ""
        if pd.isna(row["p"])
        else "no measurable difference"
        if row["Holm p"] >= alpha
        else ("higher" if row["difference"] > 0 else "lower")
        for _, row in table.iterrows()
    ]
    return table
