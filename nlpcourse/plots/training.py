"""Learning curves from ``fit``'s History: per epoch, and several runs' per-step logs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def plot_history(history: Any, metrics: Iterable[str] = ()):
    """Learning curves: one panel per metric, training and validation together."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    values = (
        history.history if hasattr(history, "history") else dict(history)
    )  # a History or a dict
    names = list(metrics) or [
        key for key in ("loss", "accuracy") if key in values or f"val_{key}" in values
    ]
    if not names:
        raise ValueError(f"Nothing to plot: the history has {sorted(values)}.")
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for key, style in ((name, "o-"), (f"val_{name}", "s--")):
            if key in values:
                epochs = range(1, len(values[key]) + 1)
                label = "validation" if key.startswith("val_") else "train"
                ax.plot(epochs, values[key], style, label=label)
        ax.set(title=name, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_runs(
    runs: Mapping[str, Any],
    keys: Sequence[str] = ("loss", "lr"),
    smooth: int = 1,
    logy: Sequence[str] = (),
):
    """Overlay several runs' per-step curves: one panel per key, one line per run.

    ``smooth`` > 1 draws a running mean over that many steps (the raw curve faintly behind).
    Where a run logged validation passes (``history.evals``, from ``fit(eval_every=...)``)
    with ``val_<key>``, they are drawn on the same axes, in the run's colour, as dashed
    markers.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if not runs:
        raise ValueError("No runs to plot: pass {name: History}.")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.8 * len(keys), 3.3), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, history in runs.items():
            x, y = history.step_values(key)
            if smooth > 1 and len(y) >= smooth:
                line = ax.plot(x, y, alpha=0.25)[0]
                kernel = np.ones(smooth) / smooth
                ax.plot(
                    x[smooth - 1 :],
                    np.convolve(y, kernel, "valid"),
                    color=line.get_color(),
                    label=name,
                )
            else:
                line = ax.plot(x, y, label=name)[0]
            evals = getattr(history, "evals", None) or []
            if evals and f"val_{key}" in evals[0]:
                ex, ey = history.eval_values(f"val_{key}")
                ax.plot(ex, ey, "o--", color=line.get_color(), markersize=4, label=f"{name} (val)")
        ax.set(title=key, xlabel="epoch")
        if key in logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
