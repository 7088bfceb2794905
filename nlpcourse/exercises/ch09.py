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
        praise_zh=(
            f"共有 {expected} 种划分，因此在 {n} + {n} 个词上，任何精确检验给出的 p 值"
            f"都不可能低于 1/{expected}。"
        ),
        hint_zh=(
            f"数一数从 {2 * n} 个词中选出 {n} 个组成 X 有多少种方式；观测到的划分也是其中之一。"
        ),
    )


def exercise_vectors(seed: int = 0) -> dict[str, torch.Tensor]:
    """Four sets of 5-dimensional word vectors (not unit length): X, Y (4 each), A, B (3 each)."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"x": (4, 5), "y": (4, 5), "a": (3, 5), "b": (3, 5)}
    return {name: torch.randn(*shape, generator=generator) * 3 for name, shape in shapes.items()}


def _run(function: Callable[..., Any], *args: Any) -> tuple[float | None, str, str]:
    """The result as a float, or None and the error in English and in Chinese."""
    try:
        return float(torch.as_tensor(function(*args))), "", ""
    except Exception as error:  # a student's bug is a verdict, not a crash
        name = type(error).__name__
        return None, f"it raised {name}: {error}", f"它抛出了 {name}：{error}"


def check_weat_effect_size(effect_size: Callable[..., Any] | None) -> bool | None:
    """Exercise 2: ``effect_size(x, y, a, b)`` equals WEAT's d on vectors of any length."""
    if unanswered(effect_size, "define a function (x, y, a, b) -> effect size d"):
        return None
    for seed in (0, 1, 2):
        v = exercise_vectors(seed)
        got, error, error_zh = _run(effect_size, v["x"], v["y"], v["a"], v["b"])
        if got is None:
            return verdict(False, "", error, hint_zh=error_zh)
        expected = weat_effect_size(v["x"], v["y"], v["a"], v["b"])
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            dots = [(w @ v["a"].T).mean(1) - (w @ v["b"].T).mean(1) for w in (v["x"], v["y"])]
            pooled = torch.cat(dots)
            unnormalised = float((dots[0].mean() - dots[1].mean()) / pooled.std())
            if math.isclose(got, unnormalised, rel_tol=1e-4):
                hint = (
                    "these vectors are not unit length: s(w, A, B) uses cosines, so normalise "
                    "first."
                )
                hint_zh = "这些向量不是单位长度：s(w, A, B) 用的是余弦，所以要先归一化。"
            else:
                hint = (
                    "d is (mean s over X - mean s over Y) / sample std of s over X ∪ Y, with "
                    "s(w, A, B) = mean cos(w, a) - mean cos(w, b)."
                )
                hint_zh = (
                    "d 等于（X 上 s 的均值 - Y 上 s 的均值）/ X ∪ Y 上 s 的样本标准差，"
                    "其中 s(w, A, B) = mean cos(w, a) - mean cos(w, b)。"
                )
            return verdict(False, "", hint, hint_zh=hint_zh)
    return verdict(
        True,
        "your d equals bias.weat_effect_size on three random sets.",
        "",
        praise_zh="在三组随机向量上，你的 d 都等于 bias.weat_effect_size。",
    )


def check_exact_p_value(p_value: Callable[..., Any] | None) -> bool | None:
    """Exercise 3: ``p_value(s_x, s_y)``, the exact one-sided permutation p-value of WEAT."""
    if unanswered(p_value, "define a function (s_x, s_y) -> exact p-value"):
        return None
    for seed in (0, 1, 2):
        v = exercise_vectors(seed)
        s_x, s_y = association(v["x"], v["a"], v["b"]), association(v["y"], v["a"], v["b"])
        got, error, error_zh = _run(p_value, s_x.clone(), s_y.clone())
        if got is None:
            return verdict(False, "", error, hint_zh=error_zh)
        expected = weat_test(v["x"], v["y"], v["a"], v["b"], n_permutations=10_000).p_value
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            n = len(s_x) + len(s_y)
            return verdict(
                False,
                "",
                f"got {got:.4f}, expected {expected:.4f}: enumerate every way to pick {len(s_x)} "
                f"of the {n} scores as X (itertools.combinations), and count the splits whose "
                "Σ X - Σ rest is at least the observed one (the observed split included).",
                hint_zh=(
                    f"得到 {got:.4f}，应为 {expected:.4f}：枚举从 {n} 个分数中选 {len(s_x)} 个"
                    "作为 X 的每一种方式（itertools.combinations），并数出 Σ X - Σ rest "
                    "不小于观测值的划分（包括观测到的划分本身）。"
                ),
            )
    return verdict(
        True,
        "exact, and equal to bias.weat_test's p-value on three random sets.",
        "",
        praise_zh="结果精确，在三组随机向量上都等于 bias.weat_test 的 p 值。",
    )
