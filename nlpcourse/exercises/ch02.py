"""Checks for notebook 02 (the modern text pipeline)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nlpcourse.batching import padding_mask
from nlpcourse.exercises import unanswered, verdict
from nlpcourse.vocab import Vocabulary


def check_vocab(
    vocab: Vocabulary | None,
    token_lists: Sequence[Sequence[str]],
    min_freq: int = 2,
    max_size: int = 5_000,
) -> bool:
    """Exercise 1: a vocabulary built with ``min_freq`` and ``max_size`` from ``token_lists``."""
    if unanswered(vocab, "build a Vocabulary and pass it in"):
        return False
    if not isinstance(vocab, Vocabulary):
        return verdict(False, "", f"expected a Vocabulary, got {type(vocab).__name__}.")
    expected = Vocabulary.build(token_lists, max_size=max_size, min_freq=min_freq)
    if vocab.itos[:2] != expected.itos[:2]:
        return verdict(False, "", "the special tokens <pad> and <unk> must take ids 0 and 1.")
    if len(vocab) != len(expected):
        return verdict(
            False,
            "",
            f"it has {len(vocab):,} ids, expected {len(expected):,}: "
            f"min_freq={min_freq} and max_size={max_size} (specials included).",
        )
    return verdict(
        vocab.itos == expected.itos,
        f"{len(vocab):,} ids, specials first, frequent tokens next.",
        "same size but a different order: build it from the training tokens only.",
    )


def check_padding_mask(mask: torch.Tensor | None, lengths: torch.Tensor) -> bool:
    """Exercise 2: a ``(batch, time)`` boolean mask, True at real tokens."""
    if unanswered(mask, "build the mask as a tensor"):
        return False
    expected = padding_mask(torch.as_tensor(lengths))
    mask = torch.as_tensor(mask)
    if mask.shape != expected.shape:
        return verdict(
            False,
            "",
            f"shape {tuple(mask.shape)}, expected (batch, time) = {tuple(expected.shape)}.",
        )
    if torch.equal(mask.bool(), ~expected):
        return verdict(False, "", "the mask is inverted: True should mark the real tokens.")
    return verdict(
        torch.equal(mask.bool(), expected),
        "True at the real tokens, False at the padding.",
        "position t of row b is real when t < lengths[b].",
    )


def check_fixed_padding(pad_tokens: int | None, lengths: Sequence[int], max_len: int) -> bool:
    """Exercise 3: padding tokens that fixed-length padding to ``max_len`` adds to ``lengths``."""
    if unanswered(pad_tokens, "give the number of padding tokens"):
        return False
    expected = sum(max(0, max_len - length) for length in lengths)
    naive = sum(max_len - length for length in lengths)
    hint = "each sequence gets max_len - length pads, and none when it is longer (it is cut)."
    if pad_tokens == naive and naive != expected:
        hint = "sequences longer than max_len are cut, not padded: they add no negative pads."
    return verdict(pad_tokens == expected, f"{expected:,} padding tokens.", hint)
