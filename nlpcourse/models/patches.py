"""ViT patches: an image cut into a row-major sequence of square patches, and a picture of it."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np


def image_patches(image: Any, patch_size: int) -> np.ndarray:
    """The non-overlapping ``patch_size`` squares of an (H, W, C) image: (rows·cols, p, p, C).

    Patches come row by row, left to right — the order in which a Vision Transformer reads
    them as a sequence of tokens (after its [CLS] token).
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {array.shape}.")
    height, width, channels = array.shape
    if patch_size < 1 or height % patch_size or width % patch_size:
        raise ValueError(
            f"a {height}×{width} image cannot be cut into {patch_size}×{patch_size} patches: "
            "the patch size must divide both sides."
        )
    rows, cols = height // patch_size, width // patch_size
    grid = array.reshape(rows, patch_size, cols, patch_size, channels)  # (r, p, c, p, C)
    return grid.transpose(0, 2, 1, 3, 4).reshape(rows * cols, patch_size, patch_size, channels)


def plot_patches(image: Any, patch_size: int, title: str | None = None) -> Any:
    """The image with its patch grid, and the same patches as the numbered sequence ViT reads."""
    import matplotlib.pyplot as plt

    array = np.asarray(image)
    patches = image_patches(array, patch_size)
    height, width = array.shape[:2]
    n = len(patches)
    per_row = (n + 1) // 2
    fig = plt.figure(figsize=(min(3.0 + 0.6 * per_row, 12), 3.0))
    grid = fig.add_gridspec(2, per_row + 5)
    ax = fig.add_subplot(grid[:, :4])
    ax.imshow(array)
    for x in range(0, width + 1, patch_size):
        ax.axvline(x - 0.5, color="white", lw=1)
    for y in range(0, height + 1, patch_size):
        ax.axhline(y - 0.5, color="white", lw=1)
    ax.set(xticks=[], yticks=[])
    heading = title or f"{height}×{width} image, {patch_size}×{patch_size} patches"
    ax.set_title(textwrap.fill(heading, 30), fontsize=8)
    for i, patch in enumerate(patches):
        cell = fig.add_subplot(grid[i // per_row, 5 + i % per_row])
        cell.imshow(patch.squeeze())
        cell.set_xticks([])
        cell.set_yticks([])
        cell.set_title(str(i + 1), fontsize=7)
    fig.suptitle(f"{n} patches → {n} tokens (+ [CLS])", fontsize=9)
    return fig
