"""Pictures for notebook 01: the LSTM cell's gates and cell state, and per-unit gate heatmaps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

GATE_COLOURS = {"sigma": "#fde2b5", "tanh": "#cfe3f7", "op": "#ffffff"}


def draw_lstm_cell(figsize: tuple[float, float] = (11, 5.4)):
    """One LSTM step: the four gates read [h_{t-1}, x_t]; the cell state runs along the top."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    fig, ax = plt.subplots(figsize=figsize)
    ax.set(xlim=(0, 12), ylim=(0, 6.4), aspect="equal")
    ax.axis("off")
    ax.add_patch(
        FancyBboxPatch((1.2, 0.35), 8.9, 5.7, boxstyle="round,pad=0.1", fc="#f7f7f7", ec="grey")
    )

    def arrow(start, end, colour="black", width=1.8):
        ax.annotate("", end, start, arrowprops={"arrowstyle": "-|>", "color": colour, "lw": width})

    def node(xy, text, kind="op", radius=0.32):
        ax.add_patch(Circle(xy, radius, fc=GATE_COLOURS[kind], ec="black", lw=1.5, zorder=3))
        ax.text(*xy, text, ha="center", va="center", fontsize=15, zorder=4)

    def gate(x, text, kind, label):
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.45, 1.75),
                0.9,
                0.7,
                boxstyle="round,pad=0.05",
                fc=GATE_COLOURS[kind],
                ec="black",
                lw=1.5,
                zorder=3,
            )
        )
        ax.text(x, 2.1, text, ha="center", va="center", fontsize=15, zorder=4)
        ax.text(x, 1.45, label, ha="center", va="top", fontsize=12, color="#444444")
        arrow((x, 0.95), (x, 1.75))

    # the cell state: kept by f, added to by i * g; the only path straight through the step
    c_y = 5.3
    ax.text(0.1, c_y, "$c_{t-1}$", fontsize=17, va="center")
    arrow((0.8, c_y), (2.68, c_y), "#b22222", 3)
    node((3.0, c_y), "×")
    arrow((3.32, c_y), (5.18, c_y), "#b22222", 3)
    node((5.5, c_y), "+")
    arrow((5.82, c_y), (11.0, c_y), "#b22222", 3)
    ax.text(11.1, c_y, "$c_t$", fontsize=17, va="center")
    ax.text(
        5.95,
        c_y + 0.38,
        "cell state: only scaled and added to",
        fontsize=12,
        color="#b22222",
    )

    # the input: the previous output and the new token, read by all four gates
    ax.text(0.1, 0.75, "$h_{t-1}$, $x_t$", fontsize=17, va="center")
    ax.plot([1.5, 8.0], [0.75, 0.75], color="black", lw=1.8)
    for x in (1.5, 3.0, 4.6, 6.4, 8.0):
        ax.plot([x, x], [0.75, 0.95], color="black", lw=1.8)
    gate(3.0, "σ", "sigma", "forget $f_t$")
    gate(4.6, "σ", "sigma", "input $i_t$")
    gate(6.4, "tanh", "tanh", "candidate $g_t$")
    gate(8.0, "σ", "sigma", "output $o_t$")

    arrow((3.0, 2.45), (3.0, c_y - 0.32))  # f scales the old memory
    node((5.5, 3.6), "×")
    arrow((4.6, 2.45), (5.28, 3.38))  # i ...
    arrow((6.4, 2.45), (5.72, 3.38))  # ... times g
    arrow((5.5, 3.92), (5.5, c_y - 0.32))  # is written into the memory

    node((9.3, 4.2), "tanh", "tanh", radius=0.42)
    arrow((9.3, c_y), (9.3, 4.62))
    node((9.3, 2.1), "×")
    arrow((9.3, 3.78), (9.3, 2.42))
    arrow((8.45, 2.1), (8.98, 2.1))  # o shows part of tanh(c_t)
    arrow((9.62, 2.1), (11.0, 2.1), "#1f4e9e", 3)
    ax.text(11.1, 2.1, "$h_t$", fontsize=17, va="center")
    ax.text(
        1.5,
        3.7,
        "σ: a gate between 0 and 1\n× and +: elementwise",
        fontsize=12,
        va="center",
        color="#444444",
    )
    fig.tight_layout()
    return fig


def plot_gate_heatmaps(
    panels: Mapping[str, Any],
    tokens: Sequence[str],
    probability: Sequence[float] | None = None,
):
    """One heatmap per gate or state (units × tokens), and P(positive) of each prefix below."""
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("No panels to draw: pass {name: (units, tokens) array}.")
    rows = len(panels) + (probability is not None)
    heights = [3.0] * len(panels) + [1.4] * (probability is not None)
    fig = plt.figure(figsize=(10, 0.75 * sum(heights) + 0.8))
    grid = fig.add_gridspec(rows, 2, width_ratios=[40, 1], height_ratios=heights)
    axes = []
    for row, (name, values) in enumerate(panels.items()):
        array = np.asarray(values, dtype=float)
        if array.ndim != 2 or array.shape[1] != len(tokens):
            raise ValueError(f"{name}: expected (units, {len(tokens)}), got {array.shape}.")
        ax = fig.add_subplot(grid[row, 0], sharex=axes[0] if axes else None)
        signed = array.min() < 0  # a state (tanh range or beyond) rather than a gate in [0, 1]
        limit = max(1.0, float(np.abs(array).max())) if signed else 1.0
        image = ax.imshow(
            array,
            aspect="auto",
            cmap="RdBu_r" if signed else "viridis",
            vmin=-limit if signed else 0.0,
            vmax=limit,
            interpolation="nearest",
        )
        ax.set_ylabel(f"{name}\nunit", fontsize=12)
        fig.colorbar(image, cax=fig.add_subplot(grid[row, 1]))
        axes.append(ax)
    if probability is not None:
        ax = fig.add_subplot(grid[rows - 1, 0], sharex=axes[0])
        ax.plot(list(probability), marker="s", color="black")
        ax.axhline(0.5, color="grey", linestyle=":")
        ax.set(ylim=(0, 1))
        ax.set_ylabel("P(positive\n| prefix)", fontsize=12)
        axes.append(ax)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xticks(range(len(tokens)), tokens, rotation=30, fontsize=12)
    fig.tight_layout()
    return fig
