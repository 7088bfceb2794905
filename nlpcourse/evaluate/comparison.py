"""Variants scored on the same evaluation rows, each against a named counterpart, with intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nlpcourse.evaluate.stats import Interval, bootstrap_accuracy, paired_bootstrap


def verdict(difference: Interval) -> str:
    """``"higher"``, ``"lower"`` or ``"no measurable difference"``, from a difference's interval."""
    if not difference.excludes_zero():
        return "no measurable difference"
    return "higher" if difference.estimate > 0 else "lower"


def compare_variants(
    y_true: Any,
    predictions: Mapping[str, Any],
    against: Mapping[str, str],
    n_boot: int = 2_000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy of each variant with an interval, and paired differences to named counterparts.

    One row per variant (in the order given): ``accuracy``, ``low``, ``high``; for a variant
    named in ``against`` (``{variant: counterpart}``), ``against``, ``difference`` (its accuracy
    minus the counterpart's), ``diff low``, ``diff high`` and ``verdict``. The intervals resample
    the evaluation rows only: they ignore seed-to-seed variation of training.
    """
    unknown = {a for pair in against.items() for a in pair} - set(predictions)
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not among the variants {list(predictions)}.")
    truth = np.asarray(y_true)
    rows = []
    for name, predicted in predictions.items():
        accuracy = bootstrap_accuracy(truth, predicted, n_boot, level, seed)
        row: dict[str, Any] = {"variant": name, "accuracy": accuracy.estimate}
        row.update(low=accuracy.low, high=accuracy.high, against="", verdict="")
        if name in against:
            other = against[name]
            diff = paired_bootstrap(truth, predicted, predictions[other], n_boot, level, seed)
            row.update(against=other, difference=diff.estimate, verdict=verdict(diff))
            row.update({"diff low": diff.low, "diff high": diff.high})
        rows.append(row)
    columns = ["accuracy", "low", "high", "against", "difference", "diff low", "diff high"]
    table = pd.DataFrame(rows).set_index("variant")
    return table.reindex(columns=[*columns, "verdict"])
