"""Checks for notebook 00 (setup)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from nlpcourse.config import get_device, get_profile
from nlpcourse.exercises import unanswered, verdict


def check_matmul_on(matmul_on: Callable[..., torch.Tensor] | None) -> bool:
    """Exercise 1: ``matmul_on(a, b, device)`` multiplies on ``device``, returns a CPU tensor."""
    if unanswered(matmul_on, "define matmul_on(a, b, device) and pass the function itself"):
        return False
    if not callable(matmul_on):
        return verdict(False, "", "pass the function itself (no parentheses), not its result.")
    generator = torch.Generator().manual_seed(0)
    for device in dict.fromkeys([torch.device("cpu"), get_device()]):
        for shape_a, shape_b in (((3, 5), (5, 2)), ((64, 64), (64, 64)), ((1, 7), (7, 1))):
            a = torch.randn(shape_a, generator=generator)
            b = torch.randn(shape_b, generator=generator)
            try:
                result = matmul_on(a, b, device)
            except Exception as error:  # a student's bug, reported in one line
                return verdict(False, "", f"calling it on {device} raised {error!r}.")
            if not isinstance(result, torch.Tensor):
                return verdict(False, "", "return the product as a tensor.")
            if result.device.type != "cpu":
                return verdict(
                    False, "", "move the product back to the CPU (.cpu()) before returning."
                )
            if result.shape != (shape_a[0], shape_b[1]):
                return verdict(
                    False,
                    "",
                    f"{shape_a} @ {shape_b} has a different shape from {tuple(result.shape)}.",
                )
            if not torch.allclose(result, a @ b, atol=1e-3, rtol=1e-3):
                return verdict(False, "", "the values differ from a @ b: is it a matrix product?")
    return verdict(
        True, "your function multiplies on the chosen device and agrees with the CPU.", ""
    )


def check_quick_agnews_rows(train_rows: int | None, heldout_rows: int | None) -> bool:
    """Exercise 2: rows notebook 06 trains and scores on in ``quick`` (80/20 of 7,600)."""
    if unanswered(train_rows, "give the training and held-out row counts"):
        return False
    test_size = get_profile("quick").agnews.test_size
    heldout = round(7_600 * test_size)
    return verdict(
        (train_rows, heldout_rows) == (7_600 - heldout, heldout),
        "both counts match the split notebook 06 makes.",
        f"7,600 rows split with test_size={test_size}: how many go to each side?",
    )
