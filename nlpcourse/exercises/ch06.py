"""Checks for notebook 06 (the AG News classifier)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nlpcourse.exercises import unanswered, verdict


def check_optimizer_steps(answer: int | None) -> bool | None:
    """Exercise 1: optimizer steps in one epoch of 6,080 rows, micro-batches of 12, window 4."""
    if unanswered(answer, "give the number of optimizer steps"):
        return None
    micro_batches = math.ceil(6_080 / 12)
    expected = math.ceil(micro_batches / 4)
    return verdict(
        answer == expected,
        "micro-batches counted, then windows, the partial ones included.",
        "first count the micro-batches (the last one is smaller), then the windows of 4 "
        "(the last window is partial but still makes an optimizer step).",
    )


def check_macro_f1_from_confusion(fn: Callable[[np.ndarray], float] | None) -> bool | None:
    """Exercise 2: macro-F1 computed from a confusion matrix (rows true, columns predicted)."""
    if unanswered(fn, "write macro_f1_from_confusion(counts)"):
        return None
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for classes in (2, 4):
        y_true = rng.integers(0, classes, 200)
        y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, classes, 200))
        counts = np.zeros((classes, classes), dtype=int)
        np.add.at(counts, (y_true, y_pred), 1)
        expected = f1_score(y_true, y_pred, average="macro")
        try:
            got = float(fn(counts.copy()))
        except Exception as error:  # a student's function may fail in any way
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        if not math.isclose(got, expected, rel_tol=1e-6):
            return verdict(
                False,
                "",
                f"got {got:.4f}, expected {expected:.4f}: precision of class c is "
                f"counts[c, c] / column sum, recall is counts[c, c] / row sum; average the F1s.",
            )
    return verdict(True, "your function agrees with scikit-learn on two confusion matrices.", "")


def _accumulation_case(sizes: tuple[int, ...], seed: int) -> tuple[nn.Module, list, torch.Tensor]:
    """A small linear classifier, micro-batches of ``sizes`` rows, and the big batch's gradient."""
    generator = torch.Generator().manual_seed(seed)
    rows = sum(sizes)
    x = torch.randn(rows, 5, generator=generator)  # (N, 5)
    y = torch.randint(0, 3, (rows,), generator=generator)  # (N,)
    model = nn.Linear(5, 3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(3, 5, generator=generator))
        model.bias.copy_(torch.randn(3, generator=generator))
    nn.functional.cross_entropy(model(x), y).backward()  # the mean over all N rows
    expected = torch.cat([p.grad.flatten() for p in model.parameters()])  # (18,)
    model.zero_grad(set_to_none=True)
    bounds = torch.tensor((0, *sizes)).cumsum(0).tolist()
    micro = [(x[a:b], y[a:b]) for a, b in itertools.pairwise(bounds)]
    return model, micro, expected


def check_accumulation_loop(fn: Callable[[nn.Module, list], None] | None) -> bool | None:
    """Exercise 3: accumulate micro-batch gradients into the gradient of one big batch."""
    if unanswered(fn, "write accumulate_gradients(model, micro_batches)"):
        return None
    for seed, sizes in enumerate(((4, 4, 2), (3, 3, 3, 1), (5,))):
        model, micro, expected = _accumulation_case(sizes, seed)
        try:
            fn(model, micro)
        except Exception as error:  # a student's function may fail in any way
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        grads = [p.grad for p in model.parameters()]
        if any(g is None for g in grads):
            return verdict(False, "", "some parameters have no gradient: call backward().")
        got = torch.cat([g.flatten() for g in grads])
        if not torch.allclose(got, expected, atol=1e-6):
            ratio = (got.norm() / expected.norm()).item()
            return verdict(
                False,
                "",
                f"micro-batches of {list(sizes)} rows: your gradient is {ratio:.2f}x the big "
                "batch's in size and differs from it. Does every row count the same, whichever "
                "micro-batch it sits in?",
            )
    return verdict(
        True, "your accumulated gradients equal one big batch's, short batch included.", ""
    )
