"""A picture of a tokenizer's pipeline: one row per stage, the real pieces of one example."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

STAGE_COLOURS = ("#8172b3", "#55a868", "#4c72b0", "#dd8452", "#c44e52", "#937860", "#da8bc3")


def draw_tokenizer_pipeline(stages: Sequence[tuple[str, str, Sequence[str]]]) -> Figure:
    """Draw ``(stage name, what it does, its output pieces)`` rows, top to bottom, with arrows.

    Each piece is a box as wide as its text, so whole tokens stay readable at slide size;
    consecutive rows with as many pieces line up column by column (tokens over their ids).
    """
    if not stages or any(len(items) == 0 for _, _, items in stages):
        raise ValueError("Give at least one stage, each with at least one output piece.")
    unit = 0.16  # inches per character of piece text
    label_width = 2.6  # inches for the stage names on the left
    widths = [[max(len(item), 1) * unit + 0.3 for item in items] for _, _, items in stages]
    for row in range(1, len(widths)):  # rows of equal length line up, column by column
        if len(widths[row]) == len(widths[row - 1]):
            widths[row] = widths[row - 1] = list(map(max, widths[row], widths[row - 1]))
    for row in range(len(widths) - 2, -1, -1):  # spread each group's widths back upwards
        if len(widths[row]) == len(widths[row + 1]):
            widths[row] = widths[row + 1]
    span = max(sum(row) + 0.12 * (len(row) - 1) for row in widths)
    fig, ax = plt.subplots(figsize=(label_width + span + 0.4, 1.05 * len(stages) + 0.3))
    ax.set(xlim=(0, label_width + span + 0.2), ylim=(len(stages) - 0.35, -0.65))
    ax.axis("off")
    for row, ((name, note, items), row_widths) in enumerate(zip(stages, widths, strict=True)):
        colour = STAGE_COLOURS[row % len(STAGE_COLOURS)]
        ax.text(0.05, row - 0.12, name, fontsize=13, weight="bold", va="center", color=colour)
        ax.text(0.05, row + 0.2, note, fontsize=9.5, va="center", color="#444444")
        x = label_width
        for item, width in zip(items, row_widths, strict=True):
            box = FancyBboxPatch(
                (x, row - 0.27),
                width,
                0.54,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor=colour,
                edgecolor="none",
                alpha=0.9,
            )
            ax.add_patch(box)
            ax.text(x + width / 2, row, item, ha="center", va="center", fontsize=12, color="w")
            x += width + 0.12
        if row + 1 < len(stages):
            ax.annotate(
                "",
                xy=(label_width - 0.25, row + 0.7),
                xytext=(label_width - 0.25, row + 0.3),
                arrowprops={"arrowstyle": "-|>", "color": "#666666", "lw": 1.5},
            )
    fig.tight_layout()
    return fig
