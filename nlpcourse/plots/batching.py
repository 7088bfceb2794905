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

    Top: real tokens coloured, pads grey. Bottom: the packed data, one column per time step
    holding only the rows still running (``batch_sizes``), rows sorted longest first. With
    ``words`` every cell shows its whole token (the cells are as wide as the longest one);
    the packed cells also show their place in ``packed.data`` (time step by time step).
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
    tokens = [list(row)[:width] for row in words] if words is not None else None
    longest = max((len(t) for row in tokens for t in row), default=2) if tokens else 2
    cell = max(0.45, 0.11 * longest + 0.2)  # inches per time step: whole words fit

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(cell * width + 1.6, 0.5 * batch * 2 + 2.2))
    cmap = ListedColormap(["#dddddd", "#4c72b0"])
    top.imshow(real.int().numpy(), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    top.set(
        title=f"padded: {batch} × {width} = {batch * width} positions, {int(real.sum())} real",
        ylabel="row in the batch",
    )
    top.set_yticks(range(batch), [f"row {row}" for row in range(batch)])
    grid = torch.zeros(batch, width)  # (batch, time): 1 where the packed data has a value
    for column, running in enumerate(steps):
        grid[:running, column] = 1
    bottom.imshow(grid.numpy(), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    bottom.set(
        title=f"packed: {int(real.sum())} values in time-step order, batch_sizes = {steps}",
        xlabel="time step",
        ylabel="row, longest first",
    )
    bottom.set_yticks(range(batch), [f"row {row}" for row in order])
    for ax in (top, bottom):
        ax.set_xticks(range(width))
    if tokens is not None:
        for row, row_tokens in enumerate(tokens):
            for column, token in enumerate(row_tokens):
                top.text(column, row, token, ha="center", va="center", fontsize=10, color="w")
            for column in range(len(row_tokens), width):
                top.text(column, row, "<pad>", ha="center", va="center", fontsize=9, color="#888")
    place = 0
    for column, running in enumerate(steps):
        for row in range(running):
            label = str(place)
            if tokens is not None:
                label = f"{tokens[order[row]][column]}\n{place}"
            bottom.text(column, row, label, ha="center", va="center", fontsize=9, color="w")
            place += 1
    fig.tight_layout()
    return fig
