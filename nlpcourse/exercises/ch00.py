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


def _same_layout(result: Any, batch: Any, device: torch.device, where: str) -> str | None:
    """None when ``result`` has ``batch``'s structure with every tensor on ``device``."""
    if isinstance(batch, torch.Tensor):
        if not isinstance(result, torch.Tensor):
            return f"{where} should stay a tensor, got {type(result).__name__}."
        if result.device.type != device.type:
            return f"{where} is on {result.device.type}, not on {device.type}."
        if device.type != "meta" and not torch.equal(result.cpu(), batch):
            return f"{where} changed its values: move it, do not alter it."
        return None
    if type(result) is not type(batch):
        return f"{where} was a {type(batch).__name__}, got a {type(result).__name__}."
    if isinstance(batch, dict):
        if list(result) != list(batch):
            return f"{where} lost or renamed keys: {list(result)} instead of {list(batch)}."
        items = [(result[k], batch[k], f"{where}[{k!r}]") for k in batch]
    elif isinstance(batch, list | tuple):
        if len(result) != len(batch):
            return f"{where} has {len(result)} items instead of {len(batch)}."
        items = [
            (r, b, f"{where}[{i}]") for i, (r, b) in enumerate(zip(result, batch, strict=True))
        ]
    else:
        return None if result == batch else f"{where} should be left as it is ({batch!r})."
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
        return verdict(False, "", "pass the function itself (no parentheses), not its result.")
    # "meta" is a device every PyTorch has: it shows that tensors move even without a GPU
    for device in dict.fromkeys([torch.device("meta"), torch.device("cpu"), get_device()]):
        batch = _sample_batch()
        try:
            result = to_device(batch, device)
        except Exception as error:  # a student's bug, reported in one line
            return verdict(False, "", f"calling it with device {device} raised {error!r}.")
        problem = _same_layout(result, _sample_batch(), device, "batch")
        if problem:
            return verdict(False, "", problem)
    return verdict(
        True, "every tensor moves, and the batch keeps its shape and its plain values.", ""
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
        return verdict(False, "", "pass the function itself (no parentheses), not its result.")
    for case in SPLIT_CASES:
        try:
            answer = split_sizes(*case)
        except Exception as error:  # a student's bug, reported in one line
            return verdict(False, "", f"split_sizes{case} raised {error!r}.")
        expected = reference_split_sizes(*case)
        try:
            answer = tuple(int(value) for value in answer)
        except (TypeError, ValueError):
            return verdict(False, "", "return three whole numbers: (train, validation, test).")
        if answer == expected:
            continue
        if sorted(answer) == sorted(expected):
            return verdict(False, "", "right sizes, wrong order: return (train, validation, test).")
        if sum(answer[1:]) == sum(expected[1:]) and answer[2] != expected[2]:
            return verdict(False, "", "train_test_split rounds the test side up (math.ceil).")
        return verdict(
            False,
            "",
            f"split_sizes{case} is off: test is cut from all rows first, validation from what "
            "remains, and train_rows (if given) caps the training part.",
        )
    return verdict(True, "your sizes match train_test_split's cuts in every case tried.", "")
