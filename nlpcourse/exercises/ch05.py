"""Checks for notebook 05 (fine-tuning strategies)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from nlpcourse.exercises import unanswered, verdict


def check_max_pool(max_pool: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None) -> bool:
    """Exercise 1: a mask-aware max pooling, ``max_pool(last_hidden_state, attention_mask)``."""
    if unanswered(max_pool, "write max_pool(last_hidden_state, attention_mask)"):
        return False
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=generator) - 2.0  # (B, T, H), mostly negative
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    hidden[mask == 0] = 100.0  # padding positions hold large values a naive max would pick
    expected = torch.stack([hidden[i, mask[i].bool()].max(dim=0).values for i in range(3)])
    try:
        got = max_pool(hidden.clone(), mask.clone())
    except Exception as error:  # a student's function may fail in any way
        return verdict(False, "", f"max_pool raised {type(error).__name__}: {error}")
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return verdict(False, "", f"expected a (batch, hidden) = (3, 4) tensor, got {shape}.")
    return verdict(
        torch.allclose(got, expected),
        "padding can never win the max.",
        "padding positions must not take part: fill them with -inf (or the dtype's minimum) "
        "before taking .max(dim=1).",
    )


def check_linear_lrs(lr_at_50: float | None, lr_at_775: float | None) -> bool:
    """Exercise 2: rates of ``get_linear_schedule_with_warmup(opt, 100, 1000)`` at base 2e-5."""
    if unanswered(lr_at_50, "give the learning rates at steps 50 and 775"):
        return False
    expected = (2e-5 * 50 / 100, 2e-5 * (1000 - 775) / (1000 - 100))
    ok = all(
        math.isclose(float(got), want, rel_tol=1e-6)
        for got, want in zip((lr_at_50, lr_at_775), expected, strict=True)
    )
    return verdict(
        ok,
        f"{expected[0]:.1e} halfway up the warmup and {expected[1]:.1e} a quarter before the end.",
        "warmup: base x step / 100; afterwards: base x (1000 - step) / (1000 - 100).",
    )


def check_llrd_rate(answer: float | None, body_lr: float, decay: float, num_layers: int) -> bool:
    """Exercise 3: the embeddings' learning rate under layer-wise decay."""
    if unanswered(answer, "give the learning rate of the embeddings"):
        return False
    expected = body_lr * decay ** (num_layers + 1)
    return verdict(
        math.isclose(float(answer), expected, rel_tol=1e-6),
        f"{expected:.3g}: the embeddings sit {num_layers + 1} steps below the top.",
        f"count the steps from the top: the pooler/top gets body_lr, layer {num_layers - 1} "
        f"gets body_lr x decay, ... and the embeddings are one step below layer 0.",
    )
