"""Checks for notebook 10 (scaling out with Accelerate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nlpcourse.exercises import raised, unanswered, verdict

# (Accelerate config, script arguments, effective batch)
LAUNCHES: tuple[tuple[dict[str, Any], dict[str, Any], int], ...] = (
    ({"num_machines": 1, "num_processes": 1}, {"per_device_batch_size": 8,
                                               "gradient_accumulation_steps": 4}, 32),
    ({"num_machines": 1, "num_processes": 2}, {"per_device_batch_size": 8,
                                               "gradient_accumulation_steps": 2}, 32),
    ({"num_machines": 2, "num_processes": 8}, {"per_device_batch_size": 32,
                                               "gradient_accumulation_steps": 1}, 256),
    ({"num_machines": 4, "num_processes": 16}, {"per_device_batch_size": 16,
                                                "gradient_accumulation_steps": 2}, 512),
)  # fmt: skip


def check_effective_batch(fn: Callable[[dict, dict], int] | None) -> bool | None:
    """Exercise 1: the effective batch of a launch, from its Accelerate config and arguments."""
    if unanswered(fn, "write effective_batch(config, script_args)"):
        return None
    for index, (config, script_args, expected) in enumerate(LAUNCHES):
        try:
            got = fn(dict(config), dict(script_args))
        except Exception as error:  # a student's function may fail in any way
            return raised(error)
        if index == 0 and got is None:  # the notebook's stub, still `return None  # your code`
            return None
        if got != expected:
            return verdict(
                False,
                "",
                f"for config {config} and arguments {script_args} you gave {got}. Read the "
                "comments in configs/accelerate/multinode_2x4.yaml: what does num_processes count?",
                hint_zh=(
                    f"对配置 {config} 和参数 {script_args}，你给出了 {got}。读一读 configs/"
                    "accelerate/multinode_2x4.yaml 里的注释：num_processes 数的是什么？"
                ),
            )
    return verdict(
        True,
        "your function reads every launch right, one machine or several.",
        "",
        praise_zh="无论一台机器还是多台，你的函数都读对了每次启动。",
    )


# (training rows, per-device batch, processes, accumulation steps): a short last round of
# batches, a short last accumulation window, both, and neither
EPOCHS: tuple[tuple[int, int, int, int], ...] = (
    (480, 8, 2, 2),
    (100, 8, 2, 2),
    (100, 8, 1, 4),
    (1_000, 32, 8, 1),
    (120_000, 32, 8, 3),
    (7, 4, 2, 1),
)


def check_steps_per_epoch(
    fn: Callable[[int, int, int, int], int] | None, launched: dict[str, Any] | None = None
) -> bool | None:
    """Exercise 2: optimizer steps in one epoch of a launch, checked against a real one.

    ``launched`` is a launch's ``metrics.json`` (its rows, sizes and the steps it counted).
    """
    from nlpcourse.train.parallel import steps_per_epoch

    if unanswered(fn, "write steps_per_epoch(rows, per_device, processes, accumulation)"):
        return None
    cases = [(case, steps_per_epoch(*case)) for case in EPOCHS]
    if launched is not None:
        case = (
            launched["rows"]["train"],
            launched["per_device_batch_size"],
            launched["num_processes"],
            launched["gradient_accumulation_steps"],
        )
        cases.append((case, launched["steps_per_epoch"]))
    for index, (case, expected) in enumerate(cases):
        try:
            got = fn(*case)
        except Exception as error:  # a student's function may fail in any way
            return raised(error)
        if index == 0 and got is None:  # the notebook's stub, still `return None  # your code`
            return None
        if got != expected:
            rows, per_device, processes, accumulation = case
            return verdict(
                False,
                "",
                f"for {rows} rows, batches of {per_device} on {processes} process(es) and "
                f"{accumulation} accumulation step(s) you gave {got}. How many micro-batches "
                "does each process get when the rows do not divide evenly, and does a short "
                "last window still step?",
                hint_zh=(
                    f"对 {rows} 行、每批 {per_device} 行、{processes} 个进程、{accumulation} 步梯"
                    f"度累积，你给出了 {got}。行数不能整除时，每个进程分到多少个微批次？最后一个不"
                    "满的窗口还会走一步吗？"
                ),
            )
    source = "and the launch above" if launched is not None else ""
    source_zh = "以及上面那次启动" if launched is not None else ""
    return verdict(
        True,
        f"your count matches every case {source}".strip() + ".",
        "",
        praise_zh=f"你的计数与每个情形{source_zh}都一致。",
    )
