"""Figures for notebook 05: learning-rate schedules, rates per layer, topic cosine histograms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch


def plot_schedules(
    curves: Mapping[str, Sequence[float]], warmup_steps: int | None = None, title: str = ""
):
    """One line per schedule: learning rate against optimizer step."""
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("No schedules to plot: pass {name: rates per step}.")
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for name, curve in curves.items():
        ax.plot(range(len(curve)), curve, label=name)
    if warmup_steps:
        ax.axvline(warmup_steps, color="grey", linestyle=":", label="end of warmup")
    ax.set(xlabel="optimizer step", ylabel="learning rate", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_layer_rates(groups: pd.DataFrame, title: str = ""):
    """Bar chart (log scale) of the rate of each ``…/decay`` group of :func:`describe_groups`."""
    import matplotlib.pyplot as plt

    per_depth = groups[groups.index.str.endswith("/decay")]
    if per_depth.empty:
        raise ValueError("No '…/decay' groups to plot: pass describe_groups(...) of the groups.")
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar([name.split("/")[0] for name in per_depth.index], per_depth["lr"])
    ax.set(yscale="log", ylabel="learning rate (log scale)", title=title)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def plot_cosine_histograms(
    pairs: Mapping[str, tuple[torch.Tensor, torch.Tensor]], bins: int = 40, title: str = ""
):
    """One panel per pooling: cosines of same-topic and different-topic pairs, as densities."""
    import matplotlib.pyplot as plt

    if not pairs:
        raise ValueError("Nothing to plot: pass {name: (same-topic, different-topic) cosines}.")
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.2), squeeze=False)
    for ax, (name, (same, different)) in zip(axes[0], pairs.items(), strict=True):
        low = float(min(same.min(), different.min()))
        high = float(max(same.max(), different.max()))
        edges = torch.linspace(low, high, bins + 1).numpy()
        ax.hist(different.numpy(), bins=edges, density=True, alpha=0.55, label="different topic")
        ax.hist(same.numpy(), bins=edges, density=True, alpha=0.55, label="same topic")
        gap = float(same.mean() - different.mean())
        ax.set(title=f"{name} (mean gap {gap:.3f})", xlabel="cosine similarity")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("density")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_recorded_losses(
    step_losses: Mapping[str, Sequence[float]],
    epoch_losses: Mapping[str, Sequence[float]],
    title: str = "",
    smooth: int = 5,
):
    """From a record: training loss per step (running mean) and validation loss per epoch."""
    import matplotlib.pyplot as plt
    import numpy as np

    if not step_losses:
        raise ValueError("Nothing to plot: pass {name: training loss per step}.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, losses in step_losses.items():
        kernel = np.ones(min(smooth, len(losses))) / min(smooth, len(losses))
        left.plot(np.convolve(losses, kernel, mode="valid"), label=name)
    for name, losses in epoch_losses.items():
        right.plot(range(1, len(losses) + 1), losses, marker="o", label=name)
    left.set(xlabel="optimizer step", ylabel=f"training loss (mean of {smooth} steps)")
    right.set(xlabel="epoch", ylabel="validation (tuning rows) loss")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
