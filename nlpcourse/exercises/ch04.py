"""Checks for notebook 04 (attention from scratch)."""

from __future__ import annotations

import math

import torch

from nlpcourse.config import get_profile
from nlpcourse.exercises import unanswered, verdict

LOCAL_LENGTH = 6
LOCAL_WINDOW = 1
ARTICLE_D_MODEL = 512


def check_local_mask(mask: torch.Tensor | None) -> bool:
    """Exercise 1: the (6, 6) boolean mask allowing query i to see key j when |i − j| ≤ 1."""
    if unanswered(mask, "build a (6, 6) boolean tensor, True where attention is allowed"):
        return False
    mask = torch.as_tensor(mask)
    if mask.shape != (LOCAL_LENGTH, LOCAL_LENGTH):
        return verdict(
            False,
            "",
            f"the mask must be ({LOCAL_LENGTH}, {LOCAL_LENGTH}), got {tuple(mask.shape)}.",
        )
    if mask.dtype != torch.bool:
        return verdict(
            False, "", "use a boolean tensor (True = may attend), e.g. with a comparison."
        )
    positions = torch.arange(LOCAL_LENGTH)
    expected = (positions[:, None] - positions[None, :]).abs() <= LOCAL_WINDOW
    if torch.equal(mask, ~expected):
        return verdict(
            False, "", "your mask is inverted: True must mark the keys that may be seen."
        )
    return verdict(
        torch.equal(mask, expected),
        "a band of width 3 around the diagonal: each token sees itself and its two neighbours.",
        "compare |i − j| with the window for every pair (i, j), e.g. with broadcasting.",
    )


def check_mha_parameters(answer: int | None) -> bool:
    """Exercise 2: parameters of multi-head attention with the profile's d_model and heads."""
    if unanswered(answer, "give the number of parameters as an integer"):
        return False
    cfg = get_profile().attention
    d = cfg.d_model
    expected = 4 * (d * d + d)
    if answer == 4 * d * d:
        return verdict(False, "", "that counts the weights only; each projection has a bias too.")
    if answer == 3 * (d * d + d):
        return verdict(False, "", "Q, K and V are three projections; one more mixes the heads.")
    return verdict(
        answer == expected,
        f"4 × ({d}² + {d}) = {expected:,}, the same for any number of heads.",
        "count the four D × D projections (queries, keys, values, output) with their biases.",
    )


def check_article_scale_factor(answer: float | None) -> bool:
    """Exercise 3: how much larger the article's scores are than 1/√d_model-scaled ones."""
    if unanswered(answer, "give the factor as a number"):
        return False
    expected = math.sqrt(ARTICLE_D_MODEL) / math.sqrt(ARTICLE_D_MODEL // 8)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "", "give one number.")
    if math.isclose(value, 1 / expected, rel_tol=1e-4):
        return verdict(
            False, "", "that is the inverse: are the article's scores larger or smaller?"
        )
    if math.isclose(value, 8.0, rel_tol=1e-4):
        return verdict(False, "", "the scale is a square root: compare √512 with √64.")
    return verdict(
        math.isclose(value, expected, rel_tol=1e-4),
        f"√512 / √64 = √8 ≈ {expected:.3f}: a softmax temperature of 1/√8.",
        "the article divides by √(512 // 8); the correct divisor is √512. Take their ratio.",
    )
