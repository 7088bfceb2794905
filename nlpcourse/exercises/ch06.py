"""Checks for notebook 06 (the AG News classifier)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nlpcourse.exercises import unanswered, verdict


def check_optimizer_steps(answer: int | None) -> bool:
    """Exercise 1: optimizer steps in one epoch of 6,080 rows, micro-batches of 12, window 4."""
    if unanswered(answer, "give the number of optimizer steps"):
        return False
    micro_batches = math.ceil(6_080 / 12)
    expected = math.ceil(micro_batches / 4)
    return verdict(
        answer == expected,
        f"{micro_batches} micro-batches make {expected} windows; the last one is partial "
        f"({micro_batches % 4} micro-batches) and still steps.",
        "first count the micro-batches (the last one is smaller), then the windows of 4 "
        "(the last window is partial but still makes an optimizer step).",
    )


def check_macro_f1_from_confusion(fn: Callable[[np.ndarray], float] | None) -> bool:
    """Exercise 2: macro-F1 computed from a confusion matrix (rows true, columns predicted)."""
    if unanswered(fn, "write macro_f1_from_confusion(counts)"):
        return False
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for classes in (2, 4):
        y_true = rng.integers(0, classes, 200)
        y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, classes, 200))
        counts = np.zeros((classes, classes), dtype=int)
        np.add.at(counts, (y_true, y_pred), 1)
        expected = f1_score(y_true, y_pred, average="macro")
        try:
            got = float(fn(counts.copy()))
        except Exception as error:  # a student's function may fail in any way
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        if not math.isclose(got, expected, rel_tol=1e-6):
            return verdict(
                False,
                "",
                f"got {got:.4f}, expected {expected:.4f}: precision of class c is "
                f"counts[c, c] / column sum, recall is counts[c, c] / row sum; average the F1s.",
            )
    return verdict(True, "macro-F1 is the plain mean of the per-class F1 scores.", "")
