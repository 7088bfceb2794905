"""Checks for notebook 06 (the AG News classifier)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from nlpcourse.exercises import raised, unanswered, verdict


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
        praise_zh="先数微批次，再数窗口，不满的也算上了。",
        hint_zh=(
            "先数微批次（最后一个更小），再数每 4 个一组的窗口（最后一个窗口不满，但仍会让优化器"
            "走一步）。"
        ),
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
            return raised(error)
        if not math.isclose(got, expected, rel_tol=1e-6):
            return verdict(
                False,
                "",
                f"got {got:.4f}, expected {expected:.4f}: precision of class c is "
                f"counts[c, c] / column sum, recall is counts[c, c] / row sum; average the F1s.",
                hint_zh=(
                    f"得到 {got:.4f}，应为 {expected:.4f}：类别 c 的精确率是 counts[c, c] / 列和，"
                    "召回率是 counts[c, c] / 行和；再对各类的 F1 取平均。"
                ),
            )
    return verdict(
        True,
        "your function agrees with scikit-learn on two confusion matrices.",
        "",
        praise_zh="在两个混淆矩阵上，你的函数都与 scikit-learn 一致。",
    )


TRAINING_LOOP_SIZES = (5, 5, 5, 2, 4, 4, 3)  # rows per micro-batch: windows of 3, 3 and 1


def _training_loop_case(seed: int) -> tuple[nn.Module, list]:
    """A small classifier and (x, y) micro-batches; the first window overflows fp16 at 2^16."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    batches = []
    for number, rows in enumerate(TRAINING_LOOP_SIZES):
        x = torch.randn(rows, 6, generator=generator)  # (B, 6)
        if number < 3:
            x = x * 300  # large inputs: the scaled gradients of the first window overflow fp16
        batches.append((x, torch.randint(0, 3, (rows,), generator=generator)))
    return model, batches


def _train_with_fit(model: nn.Module, batches: list, accumulation_steps: int, clip: float) -> int:
    """The reference: ``fit()`` for one epoch in fp16 with its GradScaler; returns its updates."""
    from nlpcourse.train.loop import fit

    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    updates: list[int] = []
    optimizer.register_step_post_hook(lambda *_: updates.append(1))
    fit(
        model,
        batches,
        epochs=1,
        optimizer=optimizer,
        accumulation_steps=accumulation_steps,
        grad_clip=clip,
        amp_dtype=torch.float16,
        device="cpu",
        progress=False,
    )
    return len(updates)


def check_training_loop(fn: Callable[..., Any] | None) -> bool | None:
    """Exercise 3: one epoch with fp16 autocast, a GradScaler, clipping and accumulation."""
    if unanswered(fn, "write train_loop(model, batches, optimizer, accumulation_steps, grad_clip)"):
        return None
    for accumulation_steps, clip in ((3, 0.5), (2, 5.0)):
        reference, batches = _training_loop_case(seed=accumulation_steps)
        student = copy.deepcopy(reference)
        reference_updates = _train_with_fit(reference, batches, accumulation_steps, clip)
        optimizer = torch.optim.AdamW(student.parameters(), lr=0.01)
        updates: list[int] = []
        optimizer.register_step_post_hook(lambda *_, seen=updates: seen.append(1))
        try:
            fn(
                student,
                [(x.clone(), y.clone()) for x, y in batches],
                optimizer,
                accumulation_steps,
                clip,
            )
        except Exception as error:  # a student's function may fail in any way
            return raised(error)
        windows = math.ceil(len(batches) / accumulation_steps)
        if len(updates) != reference_updates:
            return verdict(
                False,
                "",
                f"with accumulation_steps={accumulation_steps}, your loop made {len(updates)} "
                f"optimizer updates; fit() made {reference_updates} ({windows} windows, the last "
                "one partial, minus the ones the scaler skipped because a gradient overflowed). "
                "Step through scaler.step(optimizer), once per window.",
                hint_zh=(
                    f"当 accumulation_steps={accumulation_steps} 时，你的循环让优化器更新了 "
                    f"{len(updates)} 次；fit() 更新了 {reference_updates} 次（{windows} 个窗口，最"
                    "后一个不满，再减去因梯度溢出而被 scaler 跳过的次数）。每个窗口通过 scaler."
                    "step(optimizer) 走一步。"
                ),
            )
        gap = max(
            (a - b).abs().max().item()
            for a, b in zip(student.parameters(), reference.parameters(), strict=True)
        )
        if gap > 1e-5:
            return verdict(
                False,
                "",
                f"with accumulation_steps={accumulation_steps} and grad_clip={clip}, your weights "
                f"differ from fit()'s by up to {gap:.2e}. Check: the forward pass under "
                "torch.autocast('cpu', dtype=torch.float16); each micro-batch's loss weighted by "
                "its share of the window's rows; scaler.scale(...) before backward(); "
                "scaler.unscale_ before clipping; scaler.update() after each step; gradients "
                "zeroed after each step.",
                hint_zh=(
                    f"当 accumulation_steps={accumulation_steps}、grad_clip={clip} 时，你的权重与"
                    f" fit() 的最多相差 {gap:.2e}。请检查：前向传播在 torch.autocast('cpu', dtype"
                    "=torch.float16) 之下；每个微批次的损失按它在窗口行数中的占比加权；backward("
                    ") 之前调用 scaler.scale(...)；裁剪之前调用 scaler.unscale_；每一步之后调用 "
                    "scaler.update()；每一步之后把梯度清零。"
                ),
            )
    return verdict(
        True,
        "your loop takes the same steps as fit(), skipped updates and clipping included.",
        "",
        praise_zh="你的循环与 fit() 走的步完全相同，包括被跳过的更新和梯度裁剪。",
    )
