"""Pictures of batching: length histograms, and one batch padded and packed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from torch.nn.utils.rnn import pack_padded_sequence


def plot_length_histograms(
    lengths: Mapping[str, Sequence[int]], max_len: int | None = None, bins: int = 40
) -> Figure:
    """One histogram per named list of token lengths, as shares, on a shared length axis."""
    if not lengths or any(len(values) == 0 for values in lengths.values()):
        raise ValueError("Give at least one non-empty list of lengths per name.")
    top = max(max(values) for values in lengths.values())
    step = max(1, -(-top // bins))  # whole tokens per bin
    edges = np.arange(0.5, top + step + 0.5, step)
    fig, ax = plt.subplots(figsize=(7, 3))
    for name, values in lengths.items():
        weights = np.full(len(values), 1 / len(values))
        ax.hist(
            values, bins=edges, weights=weights, alpha=0.55, label=f"{name} (n={len(values):,})"
        )
        ax.axvline(float(np.median(values)), color=ax.patches[-1].get_facecolor(), ls="--", lw=1)
    if max_len is not None:
        ax.axvline(max_len, color="black", lw=1)
        ax.annotate(" max_len", (max_len, ax.get_ylim()[1] * 0.9))
    ax.set(xlabel="tokens per text (dashed: median)", ylabel="share of texts")
    ax.legend()
    fig.tight_layout()
    return fig


def draw_padded_and_packed(lengths: Sequence[int], words: Sequence[Sequence[str]] | None = None):
    """Draw a batch as a padded ``(batch, time)`` grid and as ``pack_padded_sequence`` stores it.

    Left: real tokens coloured, pads grey. Right: the packed data, one column per time step
    holding only the rows still running (``batch_sizes``), rows sorted longest first; each
    cell is numbered by its place in ``packed.data`` (time step by time step).
    Returns the figure.
    """
    lengths_t = torch.as_tensor(list(lengths), dtype=torch.long)  # (batch,)
    if lengths_t.numel() == 0 or int(lengths_t.min()) < 1:
        raise ValueError("Every row of the batch needs a length of at least 1.")
    batch, width = len(lengths_t), int(lengths_t.max())
    real = torch.arange(width)[None, :] < lengths_t[:, None]  # (batch, time)
    dummy = torch.zeros(batch, width, 1)  # (batch, time, 1): only the layout matters
    packed = pack_padded_sequence(dummy, lengths_t, batch_first=True, enforce_sorted=False)
    order = packed.sorted_indices.tolist()  # rows, longest first
    steps = packed.batch_sizes.tolist()  # rows running at each time step

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 0.45 * batch + 1.4), gridspec_kw={"width_ratios": [1, 1]}
    )
    cmap = ListedColormap(["#dddddd", "#4c72b0"])
    left.imshow(real.int().numpy(), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    left.set(
        title=f"padded: {batch} × {width} = {batch * width} positions, {int(real.sum())} real",
        xlabel="time step",
        ylabel="row in the batch",
    )
    grid = torch.zeros(batch, width)  # (batch, time): 1 where the packed data has a value
    for column, running in enumerate(steps):
        grid[:running, column] = 1
    right.imshow(grid.numpy(), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    right.set(
        title=f"packed: {int(real.sum())} values in time-step order\nbatch_sizes = {steps}",
        xlabel="time step",
        ylabel="row, longest first",
    )
    right.set_yticks(range(batch), [f"row {row}" for row in order])
    place = 0
    for column, running in enumerate(steps):
        for row in range(running):
            right.text(column, row, str(place), ha="center", va="center", fontsize=7, color="w")
            place += 1
    left.set_yticks(range(batch), [f"row {row}" for row in range(batch)])
    if words is not None:
        for row, tokens in enumerate(words):
            for column, token in enumerate(list(tokens)[:width]):
                left.text(column, row, token[:5], ha="center", va="center", fontsize=7, color="w")
    fig.tight_layout()
    return fig
