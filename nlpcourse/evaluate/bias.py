"""Measuring a social-bias association in embeddings (WEAT) and projecting a bias direction out."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class WeatResult:
    """The outcome of a WEAT-style association test."""

    effect_size: float  # Cohen's-d-like: difference of mean associations / their pooled std
    p_value: float  # one-sided: how often a random split of X ∪ Y associates as strongly
    statistic: float  # sum of s(x) over X minus sum of s(y) over Y
    permutations: int  # partitions compared (all of them when exact)
    exact: bool  # True when every equal-size partition of X ∪ Y was enumerated


def _matrix(vectors: Any, name: str) -> torch.Tensor:
    matrix = torch.as_tensor(vectors, dtype=torch.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty (n, dim) array of vectors, got {matrix.shape}."
        )
    if torch.any(matrix.norm(dim=1) == 0):
        raise ValueError(f"{name} holds a zero vector, whose cosine is undefined.")
    return matrix


def association(words: Any, attr_a: Any, attr_b: Any) -> torch.Tensor:
    """``s(w, A, B)``: mean cosine of each word with A minus its mean cosine with B, (n,)."""
    w = F.normalize(_matrix(words, "words"), dim=1)  # (n, d)
    a = F.normalize(_matrix(attr_a, "A"), dim=1)  # (na, d)
    b = F.normalize(_matrix(attr_b, "B"), dim=1)  # (nb, d)
    if not w.shape[1] == a.shape[1] == b.shape[1]:
        raise ValueError(f"dimensions differ: words {w.shape[1]}, A {a.shape[1]}, B {b.shape[1]}.")
    return (w @ a.T).mean(dim=1) - (w @ b.T).mean(dim=1)  # (n,)


def weat_effect_size(x: Any, y: Any, attr_a: Any, attr_b: Any) -> float:
    """``(mean s(X) - mean s(Y)) / std s(X ∪ Y)`` (sample std), in [-2, 2]."""
    return _effect_size(association(x, attr_a, attr_b), association(y, attr_a, attr_b))


def _effect_size(s_x: torch.Tensor, s_y: torch.Tensor) -> float:
    pooled = torch.cat([s_x, s_y])
    if len(pooled) < 3:
        raise ValueError("the effect size needs at least three target words in X and Y together.")
    spread = pooled.std(unbiased=True)
    if spread == 0:
        raise ValueError("every target word associates identically: the effect size is undefined.")
    return float((s_x.mean() - s_y.mean()) / spread)


def weat_test(
    x: Any, y: Any, attr_a: Any, attr_b: Any, n_permutations: int = 10_000, seed: int = 0
) -> WeatResult:
    """Effect size and a one-sided permutation p-value for "X is closer to A than Y is".

    Under the null hypothesis the labels X and Y are exchangeable, so the statistic
    ``Σ s(x) - Σ s(y)`` is recomputed over equal-size re-splits of X ∪ Y. When there are no
    more distinct splits than ``n_permutations`` all of them are enumerated (an exact test);
    otherwise ``n_permutations`` random splits drawn with ``seed`` are used, and the p-value
    counts the observed split too, so it is never 0.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}.")
    s_x, s_y = association(x, attr_a, attr_b), association(y, attr_a, attr_b)
    effect = _effect_size(s_x, s_y)
    scores = torch.cat([s_x, s_y])  # (n,)
    n, n_x = len(scores), len(s_x)
    observed = float(s_x.sum() - s_y.sum())
    total = float(scores.sum())
    tolerance = 1e-12 * max(1.0, abs(observed))
    if math.comb(n, n_x) <= n_permutations:
        picks = torch.tensor(list(itertools.combinations(range(n), n_x)))  # (C(n, nx), nx)
        x_sums = scores[picks].sum(dim=1)
        stats = 2 * x_sums - total  # Σ over the X side minus Σ over the rest
        p_value = float((stats >= observed - tolerance).double().mean())
        return WeatResult(effect, p_value, observed, len(picks), True)
    generator = torch.Generator().manual_seed(seed)
    order = torch.argsort(torch.rand(n_permutations, n, generator=generator), dim=1)  # (P, n)
    stats = 2 * scores[order[:, :n_x]].sum(dim=1) - total  # (P,)
    exceed = int((stats >= observed - tolerance).sum())
    p_value = (exceed + 1) / (n_permutations + 1)
    return WeatResult(effect, p_value, observed, n_permutations, False)


def bias_direction(group_a: Any, group_b: Any) -> torch.Tensor:
    """Unit vector along the mean difference of paired vectors (e.g. "he" - "she", …), (dim,)."""
    a, b = _matrix(group_a, "group_a"), _matrix(group_b, "group_b")
    if a.shape != b.shape:
        raise ValueError(
            f"pairs must line up: group_a is {tuple(a.shape)}, group_b {tuple(b.shape)}."
        )
    differences = F.normalize(a, dim=1) - F.normalize(b, dim=1)  # (pairs, d)
    direction = differences.mean(dim=0)  # (d,)
    if direction.norm() == 0:
        raise ValueError("the pairs cancel out: there is no bias direction to remove.")
    return F.normalize(direction, dim=0).float()


def project_out(embeddings: Any, direction: Any, renormalize: bool = True) -> torch.Tensor:
    """Remove each embedding's component along ``direction`` (then rescale to unit length)."""
    e = torch.as_tensor(embeddings, dtype=torch.float32)
    g = torch.as_tensor(direction, dtype=torch.float32)
    if e.ndim != 2 or g.ndim != 1 or e.shape[1] != g.shape[0]:
        raise ValueError(
            f"expected embeddings (n, dim) and a direction (dim,), got {tuple(e.shape)} "
            f"and {tuple(g.shape)}."
        )
    if g.norm() == 0:
        raise ValueError("the direction is the zero vector.")
    g = g / g.norm()
    projected = e - (e @ g).unsqueeze(1) * g  # (n, dim): now orthogonal to g
    return F.normalize(projected, dim=1) if renormalize else projected
