"""The confusion matrix drawn with class names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nlpcourse.evaluate import metrics


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str],
    normalize: bool = False,
    ax: Any = None,
    title: str | None = None,
):
    """Plot the confusion matrix with class names (rows true, columns predicted); return fig."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    true, pred = metrics._pair(y_true, y_pred)
    metrics._check_ids(true, pred, class_names)
    counts = metrics.confusion(true, pred, len(class_names))
    values = counts / counts.sum(axis=1, keepdims=True).clip(min=1) if normalize else counts
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2.5, 1.2 * len(class_names) + 1.5))
    display = ConfusionMatrixDisplay(values, display_labels=list(class_names))
    display.plot(ax=ax, cmap="Blues", colorbar=False, values_format=".2f" if normalize else "d")
    ax.set_title(
        title or ("confusion matrix (row-normalised)" if normalize else "confusion matrix")
    )
    ax.figure.tight_layout()
    return ax.figure
