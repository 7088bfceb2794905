"""Pictures for notebook 07: a similarity-matrix heatmap and image grids with top captions."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _as_array(scores: Any) -> np.ndarray:
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().float().cpu().numpy()
    return np.asarray(scores, dtype=float)


def _as_image(image: Any) -> np.ndarray:
    """A PIL image or an array as something ``imshow`` draws in colour."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return array


def top_captions(scores: Any, captions: Sequence[str], k: int = 3) -> str:
    """The ``k`` best-scoring captions, one per line, each with its score ("0.93  a cat")."""
    values = _as_array(scores)
    if values.ndim != 1 or len(values) != len(captions):
        raise ValueError(
            f"scores must be one score per caption: got shape {values.shape} for "
            f"{len(captions)} captions."
        )
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    order = np.argsort(-values, kind="stable")[:k]
    return "\n".join(f"{values[i]:.2f}  {captions[i]}" for i in order)


def plot_similarity(
    similarity: Any,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
    annotate: bool = True,
):
    """Heatmap of an image-by-text similarity matrix; the matching pairs (diagonal) are boxed."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    values = _as_array(similarity)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"similarity must be a non-empty 2-D matrix, got shape {values.shape}.")
    n_rows, n_cols = values.shape
    for labels, n, what in ((row_labels, n_rows, "row"), (col_labels, n_cols, "column")):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{len(labels)} {what} labels for a matrix with {n} {what}s.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * n_cols + 3, 0.4 * n_rows + 1.5))
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    for i in range(min(n_rows, n_cols)):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", lw=1.5))
    if annotate and n_rows * n_cols <= 256:
        middle = (values.max() + values.min()) / 2
        for (i, j), value in np.ndenumerate(values):
            colour = "black" if value > middle else "white"
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=6, color=colour)
    ax.set_xticks(range(n_cols), col_labels or range(n_cols), rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows), row_labels or range(n_rows), fontsize=7)
    ax.set_xlabel("text")
    ax.set_ylabel("image")
    if title:
        ax.set_title(title)
    return ax


def wrap_caption(caption: str, width: int) -> str:
    """Wrap each line of ``caption`` to ``width`` characters (continuations indented)."""
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent="   ") if line else line
        for line in caption.split("\n")
    )


def image_grid(
    images: Sequence[Any],
    captions: Sequence[str] | None = None,
    ncols: int = 4,
    cell_size: float = 2.2,
    fontsize: int = 7,
):
    """A figure showing ``images`` in a grid, each with its (possibly multi-line) caption below.

    Caption lines are wrapped to the width of a cell.
    """
    import matplotlib.pyplot as plt

    if len(images) == 0:
        raise ValueError("image_grid() needs at least one image.")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} images.")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    width = max(12, int(cell_size * 72 / (0.6 * fontsize)))  # characters that fit in a cell
    captions = [wrap_caption(c, width) for c in captions] if captions is not None else None
    lines = max((caption.count("\n") + 1 for caption in captions or [""]), default=1)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(cell_size * ncols, (cell_size + 1.5 * fontsize / 72 * lines + 0.1) * nrows),
        squeeze=False,
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        ax.imshow(_as_image(images[index]), interpolation="nearest")
        if captions is not None:
            ax.text(0, -0.03, captions[index], transform=ax.transAxes, fontsize=fontsize, va="top")
    fig.tight_layout()
    return fig


def retrieval_grid(
    queries: Sequence[str],
    images: Sequence[Any],
    scores: Any,
    k: int = 3,
    cell_size: float = 1.8,
):
    """Text→image retrieval: one row per query, its ``k`` best images left to right with scores.

    ``scores[q, i]`` is how well image ``i`` matches query ``q`` (e.g. ``logits_per_text``).
    """
    import matplotlib.pyplot as plt

    values = _as_array(scores)
    if values.shape != (len(queries), len(images)):
        raise ValueError(
            f"scores must have shape (queries, images) = ({len(queries)}, {len(images)}), "
            f"got {values.shape}."
        )
    if not 1 <= k <= len(images):
        raise ValueError(f"k must be between 1 and the number of images ({len(images)}), got {k}.")
    fig, axes = plt.subplots(
        len(queries), k, figsize=(cell_size * k + 2.2, cell_size * len(queries)), squeeze=False
    )
    for row, query in enumerate(queries):
        order = np.argsort(-values[row], kind="stable")[:k]
        for rank, (ax, index) in enumerate(zip(axes[row], order, strict=True)):
            ax.imshow(_as_image(images[index]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"#{rank + 1}  {values[row, index]:.2f}", fontsize=7)
        axes[row, 0].set_ylabel(query, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig
