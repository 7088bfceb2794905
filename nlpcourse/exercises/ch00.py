"""Checks for notebook 00 (setup)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from nlpcourse.config import get_device
from nlpcourse.exercises import unanswered, verdict


def _sample_batch() -> dict[str, Any]:
    """A nested batch like the course's loaders yield: tensors beside plain values."""
    generator = torch.Generator().manual_seed(0)
    return {
        "ids": torch.randint(0, 100, (2, 5), generator=generator),
        "lengths": torch.tensor([5, 3]),
        "extra": {"mask": torch.ones(2, 5, dtype=torch.bool), "names": ["a", "b"]},
        "pair": (torch.randn(2, 3, generator=generator), 7),
        "labels": [torch.tensor(0), torch.tensor(1)],
    }


def _say(english: str, chinese: str) -> tuple[str, str]:
    """A problem in both editions' words: (English, Chinese)."""
    return english, chinese


def _same_layout(
    result: Any, batch: Any, device: torch.device, where: str
) -> tuple[str, str] | None:
    """None when ``result`` has ``batch``'s structure with every tensor on ``device``."""
    if isinstance(batch, torch.Tensor):
        if not isinstance(result, torch.Tensor):
            return _say(
                f"{where} should stay a tensor, got {type(result).__name__}.",
                f"{where} 应当仍是张量，却得到了 {type(result).__name__}。",
            )
        if result.device.type != device.type:
            return _say(
                f"{where} is on {result.device.type}, not on {device.type}.",
                f"{where} 在 {result.device.type} 上，而不在 {device.type} 上。",
            )
        if device.type != "meta" and not torch.equal(result.cpu(), batch):
            return _say(
                f"{where} changed its values: move it, do not alter it.",
                f"{where} 的值变了：只移动它，不要改动它。",
            )
        return None
    if type(result) is not type(batch):
        return _say(
            f"{where} was a {type(batch).__name__}, got a {type(result).__name__}.",
            f"{where} 原本是 {type(batch).__name__}，却得到了 {type(result).__name__}。",
        )
    if isinstance(batch, dict):
        if list(result) != list(batch):
            return _say(
                f"{where} lost or renamed keys: {list(result)} instead of {list(batch)}.",
                f"{where} 丢了键或改了键名：得到 {list(result)}，应为 {list(batch)}。",
            )
        items = [(result[k], batch[k], f"{where}[{k!r}]") for k in batch]
    elif isinstance(batch, list | tuple):
        if len(result) != len(batch):
            return _say(
                f"{where} has {len(result)} items instead of {len(batch)}.",
                f"{where} 有 {len(result)} 项，应为 {len(batch)} 项。",
            )
        items = [
            (r, b, f"{where}[{i}]") for i, (r, b) in enumerate(zip(result, batch, strict=True))
        ]
    else:
        if result == batch:
            return None
        return _say(
            f"{where} should be left as it is ({batch!r}).",
            f"{where} 应当原样保留（{batch!r}）。",
        )
    for got, expected, path in items:
        problem = _same_layout(got, expected, device, path)
        if problem:
            return problem
    return None


def check_to_device(to_device: Callable[[Any, torch.device], Any] | None) -> bool | None:
    """Exercise 1: ``to_device(batch, device)`` moves every tensor of a nested batch."""
    if unanswered(to_device, "define to_device(batch, device) and pass the function itself"):
        return None
    if not callable(to_device):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses), not its result.",
            hint_zh="传入函数本身（不带括号），而不是它的返回值。",
        )
    # "meta" is a device every PyTorch has: it shows that tensors move even without a GPU
    for device in dict.fromkeys([torch.device("meta"), torch.device("cpu"), get_device()]):
        batch = _sample_batch()
        try:
            result = to_device(batch, device)
        except Exception as error:  # a student's bug, reported in one line
            return verdict(
                False,
                "",
                f"calling it with device {device} raised {error!r}.",
                hint_zh=f"用设备 {device} 调用它时抛出了 {error!r}。",
            )
        problem = _same_layout(result, _sample_batch(), device, "batch")
        if problem:
            return verdict(False, "", problem[0], hint_zh=problem[1])
    return verdict(
        True,
        "every tensor moves, and the batch keeps its shape and its plain values.",
        "",
        praise_zh="每个张量都移过去了，批次的结构和其中的普通值也都保持原样。",
    )


def reference_split_sizes(
    n_rows: int, test_size: float, val_size: float, train_rows: int | None = None
) -> tuple[int, int, int]:
    """(train, validation, test) rows of the course's three-way cut, as sklearn rounds them."""
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(range(n_rows), test_size=test_size)
    train, validation = train_test_split(rest, test_size=val_size)
    used = len(train) if train_rows is None else min(train_rows, len(train))
    return used, len(validation), len(test)


SPLIT_CASES = (
    (7_600, 0.2, 0.2, 2_400),
    (1_000, 0.25, 0.1, None),
    (999, 0.15, 0.3, 500),
    (101, 0.1, 0.1, None),
)


def check_split_sizes(split_sizes: Callable[..., Any] | None) -> bool | None:
    """Exercise 2: ``split_sizes(n_rows, test_size, val_size, train_rows)`` = (train, val, test)."""
    if unanswered(split_sizes, "define split_sizes(n_rows, test_size, val_size, train_rows)"):
        return None
    if not callable(split_sizes):
        return verdict(
            False,
            "",
            "pass the function itself (no parentheses), not its result.",
            hint_zh="传入函数本身（不带括号），而不是它的返回值。",
        )
    for case in SPLIT_CASES:
        try:
            answer = split_sizes(*case)
        except Exception as error:  # a student's bug, reported in one line
            return verdict(
                False,
                "",
                f"split_sizes{case} raised {error!r}.",
                hint_zh=f"split_sizes{case} 抛出了 {error!r}。",
            )
        expected = reference_split_sizes(*case)
        try:
            answer = tuple(int(value) for value in answer)
        except (TypeError, ValueError):
            return verdict(
                False,
                "",
                "return three whole numbers: (train, validation, test).",
                hint_zh="返回三个整数：(train, validation, test)。",
            )
        if answer == expected:
            continue
        if sorted(answer) == sorted(expected):
            return verdict(
                False,
                "",
                "right sizes, wrong order: return (train, validation, test).",
                hint_zh="大小对了，顺序不对：请按 (train, validation, test) 返回。",
            )
        if sum(answer[1:]) == sum(expected[1:]) and answer[2] != expected[2]:
            return verdict(
                False,
                "",
                "train_test_split rounds the test side up (math.ceil).",
                hint_zh="train_test_split 会把切出的测试部分向上取整（math.ceil）。",
            )
        return verdict(
            False,
            "",
            f"split_sizes{case} is off: test is cut from all rows first, validation from what "
            "remains, and train_rows (if given) caps the training part.",
            hint_zh=f"split_sizes{case} 的结果不对：先从全部行中切出测试部分，再从剩下的行中切出"
            "验证部分；若给了 train_rows，训练部分不超过它。",
        )
    return verdict(
        True,
        "your sizes match train_test_split's cuts in every case tried.",
        "",
        praise_zh="在所有试过的情形中，你的大小都与 train_test_split 的切分一致。",
    )
