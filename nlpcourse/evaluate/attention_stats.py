"""Measuring what attention heads do: per-head entropy and mean attention distance."""

from __future__ import annotations

import torch


def _check(weights: torch.Tensor, keep: torch.Tensor) -> None:
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(
            f"weights must be self-attention (batch, heads, L, L); got {tuple(weights.shape)}."
        )
    if keep.shape != (weights.shape[0], weights.shape[-1]):
        raise ValueError(
            f"keep must be (batch, L) = {(weights.shape[0], weights.shape[-1])} marking real "
            f"tokens; got {tuple(keep.shape)}."
        )


def head_statistics(weights: torch.Tensor, keep: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per sentence and head, averaged over real query tokens: ``entropy`` (nats) and ``distance``.

    ``weights`` is (batch, heads, L, L) self-attention, ``keep`` (batch, L) is True (or 1) at
    real tokens. ``distance`` is Σ_j w_ij·|i − j|, how many positions away a query looks on
    average. Both come back as (batch, heads) tensors.
    """
    _check(weights, keep)
    keep = keep.bool().to(weights.device)
    weights = weights.detach().float()
    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(-1)  # (B, H, L)
    positions = torch.arange(weights.shape[-1], device=weights.device, dtype=torch.float32)
    offsets = (positions[:, None] - positions[None, :]).abs()  # (L, L)
    distance = (weights * offsets).sum(-1)  # (B, H, L)
    queries = keep[:, None, :].float()  # (B, 1, L): average over real queries only
    count = queries.sum(-1).clamp_min(1.0)  # (B, 1)
    return {
        "entropy": (entropy * queries).sum(-1) / count,
        "distance": (distance * queries).sum(-1) / count,
    }


def layer_head_statistics(
    maps: list[torch.Tensor] | tuple[torch.Tensor, ...], keep: torch.Tensor
) -> dict[str, torch.Tensor]:
    """:func:`head_statistics` of every layer's maps, stacked as (batch, layers, heads)."""
    if not maps:
        raise ValueError("maps must hold one (batch, heads, L, L) tensor per layer.")
    per_layer = [head_statistics(weights, keep) for weights in maps]
    return {key: torch.stack([s[key] for s in per_layer], dim=1) for key in per_layer[0]}


def spread_across_heads(values: torch.Tensor) -> dict[str, torch.Tensor]:
    """From (sentences, layers, heads) values: the per-layer sd of the head means, and the
    typical standard error of one head's mean over sentences (what chance alone would spread).
    """
    if values.ndim != 3 or values.shape[0] < 2:
        raise ValueError(
            f"values must be (sentences ≥ 2, layers, heads); got {tuple(values.shape)}."
        )
    head_means = values.mean(0)  # (layers, heads)
    standard_errors = values.std(0) / values.shape[0] ** 0.5  # (layers, heads)
    return {
        "head_means": head_means,
        "between_heads_sd": head_means.std(-1),  # (layers,)
        "standard_error": standard_errors.mean(-1),  # (layers,)
    }
