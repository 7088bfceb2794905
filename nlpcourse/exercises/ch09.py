"""Checks for notebook 09 (zero-/few-shot, prompting, bias)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from nlpcourse.evaluate.bias import association, weat_effect_size, weat_test
from nlpcourse.exercises import unanswered, verdict

# Exercise 1: target words per side of the small association test
EXERCISE_WORDS_PER_SIDE = 4


def check_exact_splits(partitions: int | None, smallest_p: float | None) -> bool | None:
    """Exercise 1: distinct equal splits of 4 + 4 target words, and the smallest exact p-value."""
    if unanswered(partitions, "give the number of splits and the smallest p-value"):
        return None
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


def exercise_vectors(seed: int = 0) -> dict[str, torch.Tensor]:
    """Four sets of 5-dimensional word vectors (not unit length): X, Y (4 each), A, B (3 each)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"x": (4, 5), "y": (4, 5), "a": (3, 5), "b": (3, 5)}
    return {name: torch.randn(*shape, generator=generator) * 3 for name, shape in shapes.items()}


def _run(function: Callable[..., Any], *args: Any) -> tuple[float | None, str]:
    try:
        return float(torch.as_tensor(function(*args))), ""
    except Exception as error:  # a student's bug is a verdict, not a crash
        return None, f"it raised {type(error).__name__}: {error}"


def check_weat_effect_size(effect_size: Callable[..., Any] | None) -> bool | None:
    """Exercise 2: ``effect_size(x, y, a, b)`` equals WEAT's d on vectors of any length."""
    if unanswered(effect_size, "define a function (x, y, a, b) -> effect size d"):
        return None
    for seed in (0, 1, 2):
        v = exercise_vectors(seed)
        got, error = _run(effect_size, v["x"], v["y"], v["a"], v["b"])
        if got is None:
            return verdict(False, "", error)
        expected = weat_effect_size(v["x"], v["y"], v["a"], v["b"])
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            dots = [(w @ v["a"].T).mean(1) - (w @ v["b"].T).mean(1) for w in (v["x"], v["y"])]
            pooled = torch.cat(dots)
            unnormalised = float((dots[0].mean() - dots[1].mean()) / pooled.std())
            hint = (
                "these vectors are not unit length: s(w, A, B) uses cosines, so normalise first."
                if math.isclose(got, unnormalised, rel_tol=1e-4)
                else "d is (mean s over X - mean s over Y) / sample std of s over X ∪ Y, with "
                "s(w, A, B) = mean cos(w, a) - mean cos(w, b)."
            )
            return verdict(False, "", hint)
    return verdict(True, "your d equals bias.weat_effect_size on three random sets.", "")


def check_exact_p_value(p_value: Callable[..., Any] | None) -> bool | None:
    """Exercise 3: ``p_value(s_x, s_y)``, the exact one-sided permutation p-value of WEAT."""
    if unanswered(p_value, "define a function (s_x, s_y) -> exact p-value"):
        return None
    for seed in (0, 1, 2):
        v = exercise_vectors(seed)
        s_x, s_y = association(v["x"], v["a"], v["b"]), association(v["y"], v["a"], v["b"])
        got, error = _run(p_value, s_x.clone(), s_y.clone())
        if got is None:
            return verdict(False, "", error)
        expected = weat_test(v["x"], v["y"], v["a"], v["b"], n_permutations=10_000).p_value
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            n = len(s_x) + len(s_y)
            return verdict(
                False,
                "",
                f"got {got:.4f}, expected {expected:.4f}: enumerate every way to pick {len(s_x)} "
                f"of the {n} scores as X (itertools.combinations), and count the splits whose "
                "Σ X - Σ rest is at least the observed one (the observed split included).",
            )
    return verdict(True, "exact, and equal to bias.weat_test's p-value on three random sets.", "")
