"""Checks for notebook 02 (the modern text pipeline)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch

from nlpcourse.exercises import raised, unanswered, verdict
from nlpcourse.text.batching import PadCollate, padding_mask

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
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses after its name).",
            hint_zh="传入函数本身（函数名后不带括号）。",
        )
    for rows, max_tokens, seed in BUDGET_CASES:
        lengths = _skewed_lengths(rows, seed)
        try:
            answer = make_batches(list(lengths), max_tokens)
            if answer is None:
                return verdict(
                    False,
                    "",
                    "make_batches returns None: return the list of batches",
                    hint_zh="make_batches 返回了 None：请返回批次的列表",
                )
            batches = [[int(i) for i in batch] for batch in answer]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return raised(error)
        seen = sorted(i for batch in batches for i in batch)
        if seen != list(range(rows)):
            missing = len(set(range(rows)) - set(seen))
            repeats = len(seen) - len(set(seen))
            return verdict(
                False,
                "",
                f"every index must appear exactly once ({missing} missing, {repeats} repeated).",
                hint_zh=f"每个下标必须恰好出现一次（缺了 {missing} 个，重复了 {repeats} 个）。",
            )
        if any(len(batch) == 0 for batch in batches):
            return verdict(
                False,
                "",
                "an empty batch: drop it.",
                hint_zh="出现了空批次：把它去掉。",
            )
        padded = [len(b) * max(lengths[i] for i in b) for b in batches]
        over = [p for p, b in zip(padded, batches, strict=True) if p > max_tokens and len(b) > 1]
        if over:
            return verdict(
                False,
                "",
                f"{len(over)} batches exceed max_tokens={max_tokens} "
                "(rows × the longest length in the batch).",
                hint_zh=(
                    f"有 {len(over)} 个批次超过了 max_tokens={max_tokens}（行数 × 批次中最长的长"
                    "度）。"
                ),
            )
        real = sum(lengths)
        if 1 - real / sum(padded) > MAX_PADDING_SHARE:
            return verdict(
                False,
                "",
                "too much padding: put texts of similar length together (sort first).",
                hint_zh="填充太多：把长度相近的文本放在一起（先排序）。",
            )
        if len(batches) > MAX_EXTRA_BATCHES * _greedy_batch_count(lengths, max_tokens):
            return verdict(
                False,
                "",
                "too many small batches: fill each one up to the budget.",
                hint_zh="小批次太多：把每个批次填满到预算为止。",
            )
    return verdict(
        True,
        "every index once, every batch within its token budget, little padding.",
        "",
        praise_zh="每个下标只出现一次，每个批次都在词元预算之内，填充也很少。",
    )


COLLATE_CASES = ((4, 0, 0), (7, 0, 1), (5, 3, 2), (1, 0, 3))  # (rows, pad_id, seed)


def _random_examples(rows: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``rows`` examples ``(ids, label)`` of lengths 1..9, ids in 4..99 (never a pad id)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 10, (rows,), generator=generator).tolist()
    return [
        (
            torch.randint(4, 100, (length,), generator=generator),  # (length,)
            torch.randint(0, 2, (), generator=generator),  # () class id
        )
        for length in lengths
    ]


def check_mask_collate(collate: Callable[..., Sequence[torch.Tensor]] | None) -> bool | None:
    """Exercise 2: ``collate(examples, pad_id)`` → ``(ids, lengths, mask, labels)``.

    ``ids`` is ``(batch, time)`` padded with ``pad_id`` to the longest row, ``lengths`` and
    ``labels`` are ``(batch,)``, ``mask`` is ``(batch, time)`` boolean, True at real tokens. The
    check runs it on batches of its own and compares with ``PadCollate`` and ``padding_mask``.
    """
    if unanswered(collate, "write a function collate(examples, pad_id)"):
        return None
    if not callable(collate):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses after its name).",
            hint_zh="传入函数本身（函数名后不带括号）。",
        )
    for rows, pad_id, seed in COLLATE_CASES:
        examples = _random_examples(rows, seed)
        ids, lengths, labels = PadCollate(pad_id)(examples)
        mask = padding_mask(lengths)
        try:
            answer = collate(examples, pad_id)
            if answer is None:
                return verdict(
                    False,
                    "",
                    "collate returns None: return (ids, lengths, mask, labels)",
                    hint_zh="collate 返回了 None：请返回 (ids, lengths, mask, labels)",
                )
            if len(answer) != 4:
                return verdict(
                    False,
                    "",
                    f"return 4 tensors, got {len(answer)}.",
                    hint_zh=f"要返回 4 个张量，得到的是 {len(answer)} 个。",
                )
            got = [torch.as_tensor(part) for part in answer]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return raised(error)
        names = ("ids", "lengths", "mask", "labels")
        for name, mine, expected in zip(names, got, (ids, lengths, mask, labels), strict=True):
            if mine.shape != expected.shape:
                return verdict(
                    False,
                    "",
                    f"{name} has shape {tuple(mine.shape)} for a batch of {rows}, "
                    f"expected {tuple(expected.shape)}.",
                    hint_zh=(
                        f"对 {rows} 行的批次，{name} 的形状是 {tuple(mine.shape)}，应为 "
                        f"{tuple(expected.shape)}。"
                    ),
                )
        if torch.equal(got[2].bool(), ~mask):
            return verdict(
                False,
                "",
                "the mask is inverted: True should mark the real tokens.",
                hint_zh="掩码反了：True 应当标出真实词元。",
            )
        for name, mine, expected in zip(names, got, (ids, lengths, mask, labels), strict=True):
            if not torch.equal(mine.to(expected.dtype), expected):
                hint = {
                    "ids": f"real tokens first, then pad_id ({pad_id}) up to the longest row.",
                    "lengths": "each row's number of real tokens, before padding.",
                    "mask": "position t of row b is real when t < lengths[b].",
                    "labels": "stack the labels in the order of the examples.",
                }[name]
                hint_zh = {
                    "ids": f"先放真实词元，再用 pad_id（{pad_id}）填充到最长那一行。",
                    "lengths": "每一行在填充之前的真实词元个数。",
                    "mask": "当 t < lengths[b] 时，第 b 行的位置 t 是真实词元。",
                    "labels": "按样本的顺序把标签堆叠起来。",
                }[name]
                return verdict(
                    False,
                    "",
                    f"{name} differs from the expected batch: {hint}",
                    hint_zh=f"{name} 与期望的批次不同：{hint_zh}",
                )
    return verdict(
        True,
        "ids, lengths, mask and labels all match the package's collate.",
        "",
        praise_zh="ids、lengths、mask 和 labels 都与本课程包里的 collate 一致。",
    )


def check_packed_batch_sizes(
    batch_sizes: Callable[[Sequence[int]], Sequence[int]] | None,
) -> bool | None:
    """Exercise 3: ``batch_sizes(lengths)`` → how many rows are still running at each time step.

    It must equal ``pack_padded_sequence(...).batch_sizes`` for lengths of the check's own.
    """
    from torch.nn.utils.rnn import pack_padded_sequence

    if unanswered(batch_sizes, "write a function batch_sizes(lengths)"):
        return None
    if not callable(batch_sizes):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses after its name).",
            hint_zh="传入函数本身（函数名后不带括号）。",
        )
    rng = random.Random(0)
    cases = [[5, 2, 3], [1], [4, 4, 4], *([rng.randint(1, 12) for _ in range(9)] for _ in range(5))]
    for lengths in cases:
        data = torch.zeros(len(lengths), max(lengths), 1)  # (batch, time, 1): the layout only
        packed = pack_padded_sequence(data, torch.tensor(lengths), True, enforce_sorted=False)
        expected = packed.batch_sizes.tolist()
        try:
            result = batch_sizes(list(lengths))
            if result is None:
                return verdict(
                    False,
                    "",
                    "batch_sizes returns None: return one count per time step",
                    hint_zh="batch_sizes 返回了 None：请为每个时间步返回一个计数",
                )
            answer = [int(n) for n in result]
        except Exception as error:  # a student's bug: say what happened, no traceback
            return raised(error)
        if len(answer) != len(expected):
            return verdict(
                False,
                "",
                "one count per time step: as many as the longest row has tokens.",
                hint_zh="每个时间步一个计数：个数等于最长那一行的词元数。",
            )
        if answer != expected:
            hint = "at time step t, count the rows whose length is above t."
            hint_zh = "在时间步 t，数一数长度大于 t 的行。"
            if answer == sorted(lengths, reverse=True):
                hint = "those are the lengths, sorted; count the rows running at each time step."
                hint_zh = "这是排好序的长度；要数的是每个时间步上仍在运行的行数。"
            return verdict(
                False,
                "",
                hint,
                hint_zh=hint_zh,
            )
    return verdict(
        True,
        "the same batch_sizes as pack_padded_sequence.",
        "",
        praise_zh="与 pack_padded_sequence 给出的 batch_sizes 相同。",
    )
