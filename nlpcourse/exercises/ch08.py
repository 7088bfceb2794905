"""Checks for notebook 08 (efficient models, distillation, zero/few-shot, bias)."""

from __future__ import annotations

import math

import torch

from nlpcourse.distill import distillation_loss
from nlpcourse.exercises import unanswered, verdict

# Exercise 1: ALBERT-xxlarge's sizes (its SentencePiece vocabulary, width and E)
ALBERT_VOCAB, ALBERT_XXLARGE_HIDDEN, ALBERT_EMBEDDING = 30_000, 4_096, 128
# Exercise 2: the settings of the hand-computed distillation loss
EXERCISE_TEMPERATURE, EXERCISE_ALPHA = 3.0, 0.8
# Exercise 3: target words per side of the small association test
EXERCISE_WORDS_PER_SIDE = 4


def check_embedding_savings(answer: int | None) -> bool:
    """Exercise 1: parameters saved by factorising ALBERT-xxlarge's token embeddings."""
    if unanswered(answer, "give the number of parameters saved as an integer"):
        return False
    v, h, e = ALBERT_VOCAB, ALBERT_XXLARGE_HIDDEN, ALBERT_EMBEDDING
    expected = v * h - (v * e + e * h)
    return verdict(
        answer == expected,
        f"V·H = {v * h:,} shrinks to V·E + E·H = {v * e + e * h:,}, saving {expected:,}.",
        "compare V×H with V×E + E×H (the embedding table plus the projection up to H).",
    )


def exercise_logits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Student logits (3, 4), teacher logits (3, 4) and labels (3,) for exercise 2."""
    student = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 1.5, 0.3, -0.2], [-0.5, 0.0, 0.4, 1.2]])
    teacher = torch.tensor([[3.0, 1.0, -2.0, 0.5], [0.0, 2.5, 1.0, -1.0], [-1.0, 0.5, 0.5, 2.0]])
    labels = torch.tensor([0, 1, 3])
    return student, teacher, labels


def check_distillation_loss(value: float | torch.Tensor | None) -> bool:
    """Exercise 2: the distillation loss of :func:`exercise_logits` at T=3, alpha=0.8."""
    if unanswered(value, "compute the loss as a number (a float or a 0-d tensor)"):
        return False
    student, teacher, labels = exercise_logits()
    expected = distillation_loss(student, teacher, labels, EXERCISE_TEMPERATURE, EXERCISE_ALPHA)
    try:
        got = float(value)
    except (TypeError, ValueError):
        return verdict(False, "", f"give one number, not {type(value).__name__}.")
    return verdict(
        math.isclose(got, float(expected), rel_tol=1e-4, abs_tol=1e-6),
        f"{float(expected):.4f}: the soft term carries T² and the KL averages over the batch.",
        "soften both logits by T, take KL(teacher ‖ student) summed over classes and averaged "
        "over rows, multiply by T², weigh it by alpha and add (1 - alpha) × cross-entropy.",
    )


def check_exact_test(partitions: int | None, smallest_p: float | None) -> bool:
    """Exercise 3: distinct equal splits of 4 + 4 target words, and the smallest exact p-value."""
    if unanswered(partitions, "give the number of splits and the smallest p-value"):
        return False
    n = EXERCISE_WORDS_PER_SIDE
    expected = math.comb(2 * n, n)
    right = partitions == expected and smallest_p is not None
    right = right and math.isclose(float(smallest_p), 1 / expected, rel_tol=1e-6)
    return verdict(
        right,
        f"{expected} splits, so no exact test on {n} + {n} words can give p below 1/{expected}.",
        f"count the ways to choose which {n} of the {2 * n} words form X; the observed split is "
        "one of them.",
    )
