"""Checks for notebook 05 (fine-tuning strategies)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from nlpcourse.exercises import unanswered, verdict


def check_max_pool(
    max_pool: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
) -> bool | None:
    """Exercise 1: a mask-aware max pooling, ``max_pool(last_hidden_state, attention_mask)``."""
    if unanswered(max_pool, "write max_pool(last_hidden_state, attention_mask)"):
        return None
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 5, 4, generator=generator) - 2.0  # (B, T, H), mostly negative
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    hidden[mask == 0] = 100.0  # padding positions hold large values a naive max would pick
    expected = torch.stack([hidden[i, mask[i].bool()].max(dim=0).values for i in range(3)])
    try:
        got = max_pool(hidden.clone(), mask.clone())
    except Exception as error:  # a student's function may fail in any way
        return verdict(
            False,
            "",
            f"max_pool raised {type(error).__name__}: {error}",
            hint_zh=f"max_pool 抛出了 {type(error).__name__}：{error}",
        )
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return verdict(
            False,
            "",
            f"expected a (batch, hidden) = (3, 4) tensor, got {shape}.",
            hint_zh=f"应为形状 (batch, hidden) = (3, 4) 的张量，得到的是 {shape}。",
        )
    return verdict(
        torch.allclose(got, expected),
        "padding can never win the max.",
        "padding positions must not take part: fill them with -inf (or the dtype's minimum) "
        "before taking .max(dim=1).",
        praise_zh="填充位置永远不会成为最大值。",
        hint_zh=(
            "填充位置不能参与：在取 .max(dim=1) 之前，先把它们填成 -inf（或该 dtype 的最小值）。"
        ),
    )


def check_linear_lrs(lr_at_50: float | None, lr_at_775: float | None) -> bool | None:
    """Exercise 2: rates of ``get_linear_schedule_with_warmup(opt, 100, 1000)`` at base 2e-5."""
    if unanswered(lr_at_50, "give the learning rates at steps 50 and 775"):
        return None
    expected = (2e-5 * 50 / 100, 2e-5 * (1000 - 775) / (1000 - 100))
    ok = all(
        math.isclose(float(got), want, rel_tol=1e-6)
        for got, want in zip((lr_at_50, lr_at_775), expected, strict=True)
    )
    return verdict(
        ok,
        "both rates match the schedule.",
        "warmup: base x step / 100; afterwards: base x (1000 - step) / (1000 - 100).",
        praise_zh="两个学习率都与调度一致。",
        hint_zh="预热阶段：base x step / 100；之后：base x (1000 - step) / (1000 - 100)。",
    )


def check_cosine_lambda(
    make_lambda: Callable[[int, int], Callable[[int], float]] | None,
) -> bool | None:
    """Exercise 3: ``make_lambda(warmup, total)`` gives LambdaLR the cosine-with-warmup factor."""
    if unanswered(make_lambda, "write make_lambda(warmup_steps, total_steps)"):
        return None
    from nlpcourse.train.optim import lr_curve

    for warmup, total in ((10, 100), (0, 37), (25, 60)):
        reference = lr_curve("cosine", warmup, total)  # transformers' schedule, base rate 1
        try:
            optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, make_lambda(warmup, total))
            got = []
            for _ in range(total + 1):
                got.append(optimizer.param_groups[0]["lr"])
                optimizer.step()
                scheduler.step()
        except Exception as error:  # a student's function may fail in any way
            return verdict(
                False,
                "",
                f"LambdaLR failed: {type(error).__name__}: {error}",
                hint_zh=f"LambdaLR 失败了：{type(error).__name__}：{error}",
            )
        wrong = [
            s for s, (a, b) in enumerate(zip(got, reference, strict=True)) if abs(a - b) > 1e-9
        ]
        if wrong:
            step = wrong[0]
            return verdict(
                False,
                "",
                f"with warmup={warmup}, total={total} the factor at step {step} is "
                f"{got[step]:.4f}, not what transformers gives. Warmup rises as step / warmup; "
                "then the factor follows half a cosine wave from 1 down to 0.",
                hint_zh=(
                    f"当 warmup={warmup}、total={total} 时，第 {step} 步的系数是 {got[step]:.4f}，"
                    "与 transformers 给出的不同。预热阶段按 step / warmup 上升；之后系数沿半个余"
                    "弦波从 1 降到 0。"
                ),
            )
    return verdict(
        True,
        "your LambdaLR agrees with transformers at every step.",
        "",
        praise_zh="你的 LambdaLR 在每一步都与 transformers 一致。",
    )
