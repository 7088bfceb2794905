"""Checks for notebook 03 (the Transformers quickstart)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import torch

from nlpcourse.config import get_profile
from nlpcourse.data.checkpoints import load_pretrained
from nlpcourse.exercises import unanswered, verdict

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


def check_segment_b_length(answer: int | None) -> bool | None:
    """Exercise 1: tokens with type id 1 when ``PAIR`` is encoded as a sentence pair."""
    if unanswered(answer, "count the tokens whose token_type_id is 1"):
        return None
    encoded = _tokenizer(get_profile().bert)(*PAIR)
    expected = sum(encoded["token_type_ids"])
    if answer == expected - 1:
        return verdict(False, "", "close: which segment does the final [SEP] belong to?")
    return verdict(
        answer == expected,
        "the second segment counted with its closing [SEP].",
        "encode the two texts in one call, tokenizer(a, b), and sum token_type_ids.",
    )


def check_head_parameters(answer: int | None) -> bool | None:
    """Exercise 2: parameters of a 4-class head on the profile's BERT (hidden × 4 + 4)."""
    if unanswered(answer, "give the number of parameters of the classifier Linear layer"):
        return None
    hidden = _hidden_size(get_profile().bert)
    expected = hidden * AG_NEWS_CLASSES + AG_NEWS_CLASSES
    if answer == hidden * AG_NEWS_CLASSES:
        return verdict(False, "", "you counted the weights; the layer has a bias per class too.")
    return verdict(
        answer == expected,
        "weights and biases both counted.",
        "the head is one Linear(hidden_size, num_labels): weights plus biases.",
    )


def check_loss_by_hand(answer: float | torch.Tensor | None) -> bool | None:
    """Exercise 3: mean cross-entropy of ``EXERCISE_LOGITS`` against ``EXERCISE_LABELS``."""
    if unanswered(answer, "compute the mean cross-entropy as a number"):
        return None
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
        "it matches F.cross_entropy on these logits.",
        "take logits − logsumexp(logits) per row, pick the true class, negate, average.",
    )


SEP_PAIRS = (
    ("The movie was long.", "I loved every minute."),
    ("Dull.", "A tedious, overlong mess that never finds its rhythm."),
    ("Unbelievably charming!", "Yes."),
)


def check_sep_positions(find_seps: Callable[[str, str], Sequence[int]] | None) -> bool | None:
    """Exercise 1: ``find_seps(first, second)`` → the positions of ``[SEP]`` in the encoded pair.

    The function is run on pairs it has not seen, with the profile's tokenizer; the positions
    must be indices into ``input_ids`` of ``tokenizer(first, second)``.
    """
    if unanswered(find_seps, "write a function find_seps(first, second)"):
        return None
    if not callable(find_seps):
        return verdict(False, "", "pass the function itself (no parentheses after its name).")
    tokenizer = _tokenizer(get_profile().bert)
    for first, second in SEP_PAIRS:
        encoded = tokenizer(first, second)
        ids = encoded["input_ids"]
        expected = [i for i, token in enumerate(ids) if token == tokenizer.sep_token_id]
        try:
            result = find_seps(first, second)
            if result is None:
                return verdict(False, "", "find_seps returns None: return the list of positions")
            answer = [int(i) for i in result]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        if answer == [i + 1 for i in expected]:
            return verdict(False, "", "off by one: positions count from 0, [CLS] is at 0.")
        if answer == [len(ids) - 1]:
            return verdict(False, "", "a pair has two [SEP]: one closes each segment.")
        if answer != expected:
            return verdict(
                False,
                "",
                "encode the two texts in one call, tokenizer(first, second), and find "
                "tokenizer.sep_token_id in input_ids.",
            )
    return verdict(True, "both separators found on every pair.", "")
