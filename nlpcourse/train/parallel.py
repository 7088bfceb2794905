"""Data parallelism in one process: shards, averaged gradients, the effective batch, pictures."""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn


def effective_batch_size(per_device: int, processes: int, accumulation: int = 1) -> int:
    """Rows behind one optimizer step: per-device batch x processes x accumulation steps."""
    for name, value in (("per_device", per_device), ("processes", processes),
                        ("accumulation", accumulation)):  # fmt: skip
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}.")
    return per_device * processes * accumulation


def shard(batch: dict[str, torch.Tensor], processes: int, rank: int) -> dict[str, torch.Tensor]:
    """Rank ``rank``'s contiguous share of a batch split across ``processes`` (equal sizes)."""
    size = len(next(iter(batch.values())))
    if size % processes:
        raise ValueError(f"a batch of {size} rows does not split evenly over {processes}.")
    if not 0 <= rank < processes:
        raise ValueError(f"rank must be in 0..{processes - 1}, got {rank}.")
    share = size // processes
    return {key: value[rank * share : (rank + 1) * share] for key, value in batch.items()}


def steps_per_epoch(rows: int, per_device: int, processes: int, accumulation: int = 1) -> int:
    """Optimizer steps in one epoch of a launch (what the script computes after ``prepare``).

    Each process gets ``ceil(rows / (per_device x processes))`` micro-batches (Accelerate evens
    out the last round by repeating rows); a short last accumulation window still steps.
    """
    effective_batch_size(per_device, processes, accumulation)  # checks the sizes
    micro_batches = -(-rows // (per_device * processes))
    return -(-micro_batches // accumulation)


def run_snippet(
    code: str, optimizer: torch.optim.Optimizer, **names: Any
) -> tuple[dict[str, Any], list[list[float]]]:
    """Execute a training-loop snippet with ``optimizer`` and ``names`` defined.

    Returns the snippet's names afterwards and each optimizer step's learning rates (one list
    per step, one rate per parameter group), recorded as the optimizer really steps.
    """
    rates: list[list[float]] = []
    hook = optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: rates.append([group["lr"] for group in opt.param_groups])
    )
    namespace = {"optimizer": optimizer, **names}
    try:
        exec(code, namespace)
    finally:
        hook.remove()
    return namespace, rates


def averaged_gradients(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    processes: int,
    loss_fn: Callable[[nn.Module, dict[str, torch.Tensor]], torch.Tensor],
) -> dict[str, torch.Tensor]:
    """What DDP's all-reduce leaves on every replica: the mean of the shards' gradients."""
    total: dict[str, torch.Tensor] = {}
    for rank in range(processes):
        model.zero_grad(set_to_none=True)
        loss_fn(model, shard(batch, processes, rank)).backward()  # this replica's gradient
        for name, param in model.named_parameters():
            if param.grad is not None:
                total[name] = total.get(name, 0) + param.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return {name: grad / processes for name, grad in total.items()}


def plot_data_parallel(processes: int = 2, accumulation: int = 2, per_device: int = 8) -> Any:
    """A picture of one data-parallel optimizer step: shards, replicas, all-reduce, update."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colors = plt.get_cmap("tab10").colors
    fig, ax = plt.subplots(figsize=(10, 1.9 + 1.5 * processes))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.9, 1.4 * processes + 0.3)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, color: Any, alpha: float = 0.25):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=color,
                                    ec="black", alpha=alpha))  # fmt: skip
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "lw": 1.2})

    top = 1.4 * processes
    box(0.1, 0.2, 1.5, top - 0.6, "the shuffled\ntraining rows", "lightgrey", 0.6)
    reduce_x = 7.0
    reduce_text = "all-reduce:\nmean of the\ngradients,\nonce per step"
    box(reduce_x, 0.2, 1.2, top - 0.6, reduce_text, "gold", 0.6)
    for rank in range(processes):
        y = top - 1.4 * (rank + 1) + 0.35
        c = colors[rank]
        micro = ", ".join(f"b{rank + processes * k}" for k in range(accumulation))
        shard_text = f"shard of rank {rank}\nmicro-batches {micro}\n({per_device} rows each)"
        box(2.1, y, 1.8, 0.8, shard_text, c)
        box(4.3, y, 2.2, 0.8, f"replica {rank}: same weights\nforward, backward,\n"
            "gradients added up", c)  # fmt: skip
        box(8.6, y, 1.3, 0.8, f"replica {rank}\nsame update", c)
        arrow(1.6, y + 0.4, 2.1, y + 0.4)
        arrow(3.9, y + 0.4, 4.3, y + 0.4)
        arrow(6.5, y + 0.4, reduce_x, y + 0.4)
        arrow(reduce_x + 1.2, y + 0.4, 8.6, y + 0.4)
    batch = effective_batch_size(per_device, processes, accumulation)
    ax.text(5, -0.55, f"one optimizer step: effective batch = {per_device} per device × "
            f"{processes} processes × {accumulation} accumulation steps = {batch} rows",
            ha="center", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def side_by_side(left: str, right: str, titles: Sequence[str] = ("before", "after")) -> Any:
    """Two code listings in columns, the right one's new or changed lines highlighted."""
    from IPython.display import HTML

    left_lines, right_lines = left.strip("\n").splitlines(), right.strip("\n").splitlines()
    added: set[int] = set()
    matcher = difflib.SequenceMatcher(a=left_lines, b=right_lines, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            added.update(range(j1, j2))

    def listing(lines: list[str], marks: set[int]) -> str:
        rows = [
            f'<div style="background:{"#d4f7d4" if i in marks else "transparent"}">'
            f"{html.escape(line) or '&nbsp;'}</div>"
            for i, line in enumerate(lines)
        ]
        return (
            '<pre style="font-size:11px;line-height:1.3;margin:0;white-space:pre">'
            + "".join(rows)
            + "</pre>"
        )

    cells = "".join(
        f'<td style="vertical-align:top;text-align:left;padding:4px 12px">'
        f"<b>{html.escape(title)}</b>{listing(lines, marks)}</td>"
        for title, lines, marks in zip(
            titles, (left_lines, right_lines), (set(), added), strict=True
        )
    )
    return HTML(f"<table><tr>{cells}</tr></table>")


def plot_step_log(log: Sequence[dict[str, Any]], title: str = "per optimizer step") -> Any:
    """Loss and learning rates of each optimizer step, from a run's ``metrics.json`` log."""
    import matplotlib.pyplot as plt

    if not log:
        raise ValueError("the log is empty: the run made no optimizer step.")
    steps = [entry["step"] for entry in log]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.plot(steps, [entry["loss"] for entry in log], marker="o")
    left.set(xlabel="optimizer step", ylabel="training loss (effective batch)", title=title)
    rates = list(zip(*(entry["lr"] for entry in log), strict=True))  # one series per group
    peaks = sorted({f"{max(rate):.0e}" for rate in rates})
    right.plot(steps, [r / max(max(rates[0]), 1e-30) for r in rates[0]], marker="o")
    right.set(xlabel="optimizer step", ylabel="learning rate / its peak",
              title=f"warmup, then linear decay (peaks {', '.join(peaks)})")  # fmt: skip
    fig.tight_layout()
    return fig
