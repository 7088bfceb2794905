"""Pictures of attention: a grid of per-head heatmaps, the positional encoding, timings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def plot_attention_heads(
    weights: torch.Tensor,
    tokens: Sequence[str],
    heads: Sequence[int] | None = None,
    ncols: int = 4,
    title: str | None = None,
    cell_size: float = 2.6,
):
    """Heatmaps of attention weights (heads, L, L), one panel per head, tokens on both axes.

    Rows are the queries (the token that looks), columns the keys (the token looked at); each
    row of a panel sums to 1.
    """
    import matplotlib.pyplot as plt

    weights = torch.as_tensor(weights).detach().float().cpu()
    if weights.ndim == 4 and weights.shape[0] == 1:
        weights = weights[0]  # drop a batch of one
    if weights.ndim != 3 or weights.shape[1] != weights.shape[2]:
        raise ValueError(
            f"weights must be (heads, L, L) self-attention (or (1, heads, L, L)); "
            f"got {tuple(weights.shape)}."
        )
    if len(tokens) != weights.shape[-1]:
        raise ValueError(f"{len(tokens)} tokens for attention over {weights.shape[-1]} positions.")
    heads = list(range(weights.shape[0])) if heads is None else list(heads)
    if not heads or any(not 0 <= h < weights.shape[0] for h in heads):
        raise ValueError(f"heads must be indices below {weights.shape[0]}, got {heads}.")
    if ncols < 1:
        raise ValueError(f"ncols must be positive, got {ncols}.")
    ncols = min(ncols, len(heads))
    nrows = math.ceil(len(heads) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(cell_size * ncols, cell_size * nrows), squeeze=False
    )
    positions = range(len(tokens))
    image = None
    for ax, head in zip(axes.flat, heads, strict=False):
        image = ax.imshow(weights[head].numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_title(f"head {head}", fontsize=9)
        ax.set_xticks(positions, tokens, rotation=90, fontsize=7)
        ax.set_yticks(positions, tokens, fontsize=7)
    for ax in list(axes.flat)[len(heads) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="attention weight")
    return fig


def plot_positional_encoding(table: torch.Tensor, dims: Sequence[int] | None = None):
    """The (positions, d_model) encoding as a heatmap, and a few of its columns as curves.

    ``dims`` defaults to four even (sine) dimensions spread from fast to slow wavelengths.
    """
    import matplotlib.pyplot as plt

    table = torch.as_tensor(table).detach().float().cpu()
    if table.ndim != 2:
        raise ValueError(f"table must be (positions, d_model), got {tuple(table.shape)}.")
    width = table.shape[1]
    if dims is None:
        dims = sorted({2 * round(width * f / 2) for f in (0, 1 / 6, 1 / 3, 2 / 3)} - {width})
    dims = [d for d in dims if 0 <= d < width]
    if not dims:
        raise ValueError(f"no dimension to draw below d_model={width}.")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    image = left.imshow(table.T.numpy(), aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    left.set(xlabel="position", ylabel="dimension", title="sinusoidal positional encoding")
    fig.colorbar(image, ax=left)
    for d in dims:
        right.plot(table[:, d].numpy(), label=f"dim {d}")
    right.set(xlabel="position", ylabel="value", title="a few dimensions")
    right.legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def plot_attention_timings(
    lengths: Sequence[int], times: dict[str, Sequence[float]], unit: str = "ms"
):
    """Time per call against sequence length, one line per implementation (log-log axes)."""
    import matplotlib.pyplot as plt

    if not times:
        raise ValueError("times needs at least one implementation: {name: [time per length]}.")
    for name, values in times.items():
        if len(values) != len(lengths):
            raise ValueError(f"{name!r} has {len(values)} times for {len(lengths)} lengths.")
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, values in times.items():
        ax.plot(lengths, values, "o-", label=name)
    ax.set(xscale="log", yscale="log", xlabel="sequence length", ylabel=f"time per call ({unit})")
    ax.set_xticks(list(lengths), [str(n) for n in lengths])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_masks(masks: dict[str, torch.Tensor], cell_size: float = 2.8):
    """Boolean (L_q, L_k) masks side by side: bright = may attend, dark = hidden."""
    import matplotlib.pyplot as plt

    if not masks:
        raise ValueError("masks needs at least one {name: (L_q, L_k) boolean tensor}.")
    for name, mask in masks.items():
        if torch.as_tensor(mask).ndim != 2:
            raise ValueError(f"mask {name!r} must be (L_q, L_k); got {tuple(mask.shape)}.")
    fig, axes = plt.subplots(
        1, len(masks), figsize=(cell_size * len(masks), cell_size + 0.4), squeeze=False
    )
    for ax, (name, mask) in zip(axes[0], masks.items(), strict=True):
        mask = torch.as_tensor(mask).detach().cpu()
        ax.imshow(mask.float().numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set(xlabel="key j", ylabel="query i")
        ax.set_xticks(range(mask.shape[1]))
        ax.set_yticks(range(mask.shape[0]))
    fig.tight_layout()
    return fig


def plot_head_statistics(entropy: torch.Tensor, distance: torch.Tensor, title: str | None = None):
    """Per-head mean entropy and mean attention distance, (layers, heads) each: one dot per head."""
    import matplotlib.pyplot as plt

    entropy, distance = (torch.as_tensor(t).detach().float().cpu() for t in (entropy, distance))
    if entropy.ndim != 2 or entropy.shape != distance.shape:
        raise ValueError(
            f"entropy and distance must both be (layers, heads); got {tuple(entropy.shape)} "
            f"and {tuple(distance.shape)}."
        )
    layers, heads = entropy.shape
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, values, label in (
        (axes[0], entropy, "entropy (nats)"),
        (axes[1], distance, "mean distance (tokens)"),
    ):
        for layer in range(layers):
            ax.scatter([layer] * heads, values[layer].numpy(), s=18, alpha=0.7)
        ax.set(xlabel="layer", ylabel=label, xticks=range(layers))
        ax.grid(alpha=0.3)
    axes[0].set_title("how spread out each head's attention is", fontsize=9)
    axes[1].set_title("how far each head looks", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _matrix(ax, x: float, y: float, rows: int, colors: Sequence, label: str, cell: float = 0.32):
    """One (rows, len(colors)) matrix drawn as cells, a column's colour marking its head."""
    from matplotlib.patches import Rectangle

    for col, color in enumerate(colors):
        for row in range(rows):
            ax.add_patch(
                Rectangle(
                    (x + col * cell, y + (rows - 1 - row) * cell),
                    cell,
                    cell,
                    facecolor=color,
                    edgecolor="white",
                    linewidth=1.2,
                )
            )
    ax.text(x + len(colors) * cell / 2, y - 0.3, label, ha="center", va="top", fontsize=11)
    return x, x + len(colors) * cell, y + rows * cell / 2  # left, right, middle height


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], text: str = "") -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1.5})
    if text:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.15)
        ax.text(*middle, text, ha="center", va="bottom", fontsize=10, style="italic")


def plot_multihead_diagram(tokens: int = 4, d_model: int = 6, num_heads: int = 2):
    """Multi-head self-attention as a picture: project x to Q, K, V, split each into heads,
    attend per head, merge the heads side by side, mix them with W_o.

    Every matrix is drawn cell by cell (rows = tokens, columns = features); a column's colour
    says which head its feature belongs to, grey before the split and after W_o.
    """
    import matplotlib.pyplot as plt

    if tokens < 1 or num_heads < 1 or d_model % num_heads:
        raise ValueError(
            f"need tokens >= 1 and num_heads dividing d_model; got tokens={tokens}, "
            f"d_model={d_model}, num_heads={num_heads}."
        )
    d_head = d_model // num_heads
    palette = plt.get_cmap("tab10").colors
    head_colors = [palette[h % 10] for h in range(num_heads) for _ in range(d_head)]
    grey = ["0.6"] * d_model
    cell, gap = 0.32, 1.7
    height = tokens * cell
    fig, ax = plt.subplots(figsize=(15, 6.2))
    # x, the input: (L, D)
    rows_y = [2 * (height + 1.1), height + 1.1, 0.0]  # Q, K, V one above the other
    middle_y = rows_y[1]
    _, x_right, x_mid = _matrix(ax, 0, middle_y, tokens, grey, f"x  ({tokens} × {d_model})")
    # Q, K, V: (L, D), columns coloured by the head they will go to
    qkv_left = x_right + gap
    for y, name in zip(rows_y, "QKV", strict=True):
        _, right, mid = _matrix(
            ax, qkv_left, y, tokens, head_colors, f"{name} = x·W_{name.lower()}"
        )
        _arrow(ax, (x_right + 0.05, x_mid), (qkv_left - 0.05, mid))
    qkv_right = right
    # per head: softmax(Q_h K_hᵀ / √d_head) V_h, (L, d_head) each
    head_left = qkv_right + gap + 0.6
    spacing = (rows_y[0] - rows_y[2]) / max(num_heads - 1, 1)
    head_ys = [rows_y[0] - h * spacing for h in range(num_heads)] if num_heads > 1 else [middle_y]
    head_rights = []
    for h, y in enumerate(head_ys):
        colors = [palette[h % 10]] * d_head
        _, right, mid = _matrix(
            ax, head_left, y, tokens, colors, f"head {h}  ({tokens} × {d_head})"
        )
        head_rights.append((right, mid))
        for source_y in rows_y:  # head h reads its own (coloured) columns of Q, K and V
            ax.annotate(
                "",
                xy=(head_left - 0.05, mid),
                xytext=(qkv_right + 0.05, source_y + height / 2),
                arrowprops={"arrowstyle": "->", "lw": 1.3, "color": palette[h % 10]},
            )
    ax.text(
        (qkv_right + head_left) / 2,
        rows_y[0] + height + 0.45,
        f"split: {num_heads} heads of d_head = {d_model}/{num_heads} = {d_head}\n"
        "each head: softmax(Q_h K_hᵀ / √d_head) V_h",
        ha="center",
        fontsize=11,
    )
    # merge: the heads side by side again, (L, D)
    merge_left = head_rights[0][0] + gap + 0.6
    _, merge_right, merge_mid = _matrix(
        ax, merge_left, middle_y, tokens, head_colors, f"merge  ({tokens} × {d_model})"
    )
    for right, mid in head_rights:
        _arrow(ax, (right + 0.05, mid), (merge_left - 0.05, merge_mid))
    out_left = merge_right + gap
    _matrix(ax, out_left, middle_y, tokens, grey, f"output  ({tokens} × {d_model})")
    _arrow(ax, (merge_right + 0.05, merge_mid), (out_left - 0.05, merge_mid), "W_o")
    ax.set_xlim(-0.3, out_left + d_model * cell + 0.5)
    ax.set_ylim(-1.0, rows_y[0] + height + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        f"multi-head self-attention: {tokens} tokens, d_model = {d_model}, {num_heads} heads "
        "(a column's colour = its head)",
        fontsize=12,
    )
    fig.tight_layout()
    return fig
