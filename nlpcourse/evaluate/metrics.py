"""Classification metrics with class names: accuracy, macro-F1, a report, a confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _as_array(values: Any, what: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D sequence of class ids, got shape {array.shape}.")
    return array


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    if len(true) == 0:
        raise ValueError("No predictions to score: y_true is empty.")
    if len(true) != len(pred):
        raise ValueError(f"y_true has {len(true)} labels but y_pred has {len(pred)}.")
    return true, pred


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of predictions equal to the labels."""
    true, pred = _pair(y_true, y_pred)
    return float((true == pred).mean())


def macro_f1(y_true: Any, y_pred: Any, num_classes: int | None = None) -> float:
    """F1 of each class, averaged with equal weight per class (scikit-learn's macro average)."""
    from sklearn.metrics import f1_score

    true, pred = _pair(y_true, y_pred)
    labels = list(range(num_classes)) if num_classes is not None else None
    return float(f1_score(true, pred, average="macro", labels=labels, zero_division=0))


def classification_summary(
    y_true: Any, y_pred: Any, class_names: Sequence[str]
) -> dict[str, float]:
    """Accuracy and macro-F1 together, checked against the number of classes."""
    true, pred = _pair(y_true, y_pred)
    _check_ids(true, pred, class_names)
    return {
        "accuracy": accuracy(true, pred),
        "macro_f1": macro_f1(true, pred, len(class_names)),
    }


def _check_ids(true: np.ndarray, pred: np.ndarray, class_names: Sequence[str]) -> None:
    highest = int(max(true.max(), pred.max()))
    if highest >= len(class_names) or min(true.min(), pred.min()) < 0:
        raise ValueError(
            f"Class ids must be in 0..{len(class_names) - 1} for {len(class_names)} class names; "
            f"found {highest}. Pass one name per class."
        )


def per_class_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> str:
    """scikit-learn's per-class precision / recall / F1 / support table, with class names."""
    from sklearn.metrics import classification_report

    true, pred = _pair(y_true, y_pred)
    _check_ids(true, pred, class_names)
    return classification_report(
        true,
        pred,
        labels=list(range(len(class_names))),
        target_names=list(class_names),
        digits=3,
        zero_division=0,
    )


def confusion(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix

    true, pred = _pair(y_true, y_pred)
    return confusion_matrix(true, pred, labels=list(range(num_classes)))
