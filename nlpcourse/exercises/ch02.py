"""Checks for notebook 02 (the modern text pipeline)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch

from nlpcourse.exercises import unanswered, verdict
from nlpcourse.text.batching import padding_mask
from nlpcourse.text.vocab import Vocabulary


def check_vocab(
    vocab: Vocabulary | None,
    token_lists: Sequence[Sequence[str]],
    min_freq: int = 2,
    max_size: int = 5_000,
) -> bool | None:
    """Exercise 1: a vocabulary built with ``min_freq`` and ``max_size`` from ``token_lists``."""
    if unanswered(vocab, "build a Vocabulary and pass it in"):
        return None
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
        "the right ids in the right order.",
        "same size but a different order: build it from the training tokens only.",
    )


def check_padding_mask(mask: torch.Tensor | None, lengths: torch.Tensor) -> bool | None:
    """Exercise 2: a ``(batch, time)`` boolean mask, True at real tokens."""
    if unanswered(mask, "build the mask as a tensor"):
        return None
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


def check_fixed_padding(
    pad_tokens: int | None, lengths: Sequence[int], max_len: int
) -> bool | None:
    """Exercise 3: padding tokens that fixed-length padding to ``max_len`` adds to ``lengths``."""
    if unanswered(pad_tokens, "give the number of padding tokens"):
        return None
    expected = sum(max(0, max_len - length) for length in lengths)
    naive = sum(max_len - length for length in lengths)
    hint = "each sequence gets max_len - length pads, and none when it is longer (it is cut)."
    if pad_tokens == naive and naive != expected:
        hint = "sequences longer than max_len are cut, not padded: they add no negative pads."
    return verdict(pad_tokens == expected, "that is the padding fixed-length batches carry.", hint)


BUDGET_CASES = ((2_000, 512, 0), (1_500, 300, 1), (700, 1_000, 2))  # (rows, max_tokens, seed)
MAX_PADDING_SHARE = 0.2  # sorted greedy batching pads about 1-5 % of these lengths
MAX_EXTRA_BATCHES = 1.25  # batches allowed, relative to sorted greedy batching


def _skewed_lengths(rows: int, seed: int) -> list[int]:
    """Lengths like SST-2's: many short texts, a long tail (1..60)."""
    rng = random.Random(seed)
    return [min(60, 1 + int(rng.expovariate(1 / 9))) for _ in range(rows)]


def _greedy_batch_count(lengths: Sequence[int], max_tokens: int) -> int:
    count, rows, longest = 0, 0, 0
    for length in sorted(lengths):
        if rows and max(longest, length) * (rows + 1) > max_tokens:
            count, rows, longest = count + 1, 0, 0
        rows, longest = rows + 1, max(longest, length)
    return count + (rows > 0)


def check_token_budget_batches(
    make_batches: Callable[[Sequence[int], int], Sequence[Sequence[int]]] | None,
) -> bool | None:
    """Exercise 1: ``make_batches(lengths, max_tokens)`` → batches of indices within a budget.

    Every index must appear exactly once; each batch's padded size (rows × its longest length)
    must stay within ``max_tokens`` (a single text longer than the budget may sit alone); the
    batches must waste little on padding and not be needlessly many.
    """
    if unanswered(make_batches, "write a function make_batches(lengths, max_tokens)"):
        return None
    if not callable(make_batches):
        return verdict(False, "", "pass the function itself (no parentheses after its name).")
    for rows, max_tokens, seed in BUDGET_CASES:
        lengths = _skewed_lengths(rows, seed)
        try:
            answer = make_batches(list(lengths), max_tokens)
            if answer is None:
                return verdict(False, "", "make_batches returns None: return the list of batches")
            batches = [[int(i) for i in batch] for batch in answer]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        seen = sorted(i for batch in batches for i in batch)
        if seen != list(range(rows)):
            missing = len(set(range(rows)) - set(seen))
            repeats = len(seen) - len(set(seen))
            return verdict(
                False,
                "",
                f"every index must appear exactly once ({missing} missing, {repeats} repeated).",
            )
        if any(len(batch) == 0 for batch in batches):
            return verdict(False, "", "an empty batch: drop it.")
        padded = [len(b) * max(lengths[i] for i in b) for b in batches]
        over = [p for p, b in zip(padded, batches, strict=True) if p > max_tokens and len(b) > 1]
        if over:
            return verdict(
                False,
                "",
                f"{len(over)} batches exceed max_tokens={max_tokens} "
                "(rows × the longest length in the batch).",
            )
        real = sum(lengths)
        if 1 - real / sum(padded) > MAX_PADDING_SHARE:
            return verdict(
                False, "", "too much padding: put texts of similar length together (sort first)."
            )
        if len(batches) > MAX_EXTRA_BATCHES * _greedy_batch_count(lengths, max_tokens):
            return verdict(False, "", "too many small batches: fill each one up to the budget.")
    return verdict(
        True,
        "every index once, every batch within its token budget, little padding.",
        "",
    )
