"""Checks for notebook 03 (the Transformers quickstart)."""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from nlpcourse.config import get_profile
from nlpcourse.exercises import unanswered, verdict
from nlpcourse.hub import load_pretrained

PAIR = ("The movie was long.", "I loved every minute.")
EXERCISE_LOGITS = ((2.0, -1.0), (0.5, 0.5), (-3.0, 1.0))
EXERCISE_LABELS = (0, 1, 0)
AG_NEWS_CLASSES = 4


@lru_cache(maxsize=2)
def _tokenizer(checkpoint: str):
    from transformers import AutoTokenizer

    return load_pretrained(AutoTokenizer, checkpoint)


@lru_cache(maxsize=2)
def _hidden_size(checkpoint: str) -> int:
    from transformers import AutoConfig

    return load_pretrained(AutoConfig, checkpoint).hidden_size


def check_segment_b_length(answer: int | None) -> bool:
    """Exercise 1: tokens with type id 1 when ``PAIR`` is encoded as a sentence pair."""
    if unanswered(answer, "count the tokens whose token_type_id is 1"):
        return False
    encoded = _tokenizer(get_profile().bert)(*PAIR)
    expected = sum(encoded["token_type_ids"])
    if answer == expected - 1:
        return verdict(False, "", "close: which segment does the final [SEP] belong to?")
    return verdict(
        answer == expected,
        f"{expected} tokens: the second sentence's pieces and its closing [SEP].",
        "encode the two texts in one call, tokenizer(a, b), and sum token_type_ids.",
    )


def check_head_parameters(answer: int | None) -> bool:
    """Exercise 2: parameters of a 4-class head on the profile's BERT (hidden × 4 + 4)."""
    if unanswered(answer, "give the number of parameters of the classifier Linear layer"):
        return False
    hidden = _hidden_size(get_profile().bert)
    expected = hidden * AG_NEWS_CLASSES + AG_NEWS_CLASSES
    if answer == hidden * AG_NEWS_CLASSES:
        return verdict(False, "", "you counted the weights; the layer has a bias per class too.")
    return verdict(
        answer == expected,
        f"{hidden} × {AG_NEWS_CLASSES} weights + {AG_NEWS_CLASSES} biases = {expected:,}.",
        "the head is one Linear(hidden_size, num_labels): weights plus biases.",
    )


def check_loss_by_hand(answer: float | torch.Tensor | None) -> bool:
    """Exercise 3: mean cross-entropy of ``EXERCISE_LOGITS`` against ``EXERCISE_LABELS``."""
    if unanswered(answer, "compute the mean cross-entropy as a number"):
        return False
    logits = torch.tensor(EXERCISE_LOGITS)
    labels = torch.tensor(EXERCISE_LABELS)
    expected = torch.nn.functional.cross_entropy(logits, labels).item()
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "", "give one number (a float or a 0-d tensor), the batch mean.")
    total = expected * len(EXERCISE_LABELS)
    if math.isclose(value, total, rel_tol=1e-4):
        return verdict(False, "", "that is the sum over the batch; the loss is the mean.")
    return verdict(
        math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-6),
        f"{expected:.4f}, the mean of −log softmax(logits)[label] over the three rows.",
        "take logits − logsumexp(logits) per row, pick the true class, negate, average.",
    )
