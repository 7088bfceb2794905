"""Checks for notebook 10 (scaling out with Accelerate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nlpcourse.exercises import unanswered, verdict

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
    for config, script_args, expected in LAUNCHES:
        try:
            got = fn(dict(config), dict(script_args))
        except Exception as error:  # a student's function may fail in any way
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
        if got != expected:
            return verdict(
                False,
                "",
                f"for config {config} and arguments {script_args} you gave {got}. Read the "
                "comments in configs/accelerate/multinode_2x4.yaml: what does num_processes count?",
            )
    return verdict(True, "your function reads every launch right, one machine or several.", "")


class _Process:
    """A stand-in for an ``Accelerator`` seen from one process of a 4-process run."""

    def __init__(self, rank: int, events: list[tuple[int, str]]) -> None:
        self.process_index = rank
        self.num_processes = 4
        self.is_main_process = rank == 0
        self.is_local_main_process = rank == 0
        self._events = events

    def wait_for_everyone(self) -> None:
        self._events.append((self.process_index, "wait"))

    def unwrap_model(self, model: Any) -> Any:
        return model


class _Model:
    def __init__(self, rank: int, events: list[tuple[int, str]]) -> None:
        self._rank, self._events = rank, events

    def save_pretrained(self, path: Any, **kwargs: Any) -> None:
        self._events.append((self._rank, "save"))


def check_save_final_model(fn: Callable[[Any, Any, str], None] | None) -> bool | None:
    """Exercise 2: save the trained model once, from the right process, at the right time."""
    if unanswered(fn, "write save_final_model(accelerator, model, path)"):
        return None
    events: list[tuple[int, str]] = []
    for rank in range(4):
        try:
            fn(_Process(rank, events), _Model(rank, events), "runs/final")
        except Exception as error:
            return verdict(False, "", f"the function raised {type(error).__name__}: {error}")
    saves = [rank for rank, what in events if what == "save"]
    waits = {rank for rank, what in events if what == "wait"}
    if len(saves) != 1:
        return verdict(False, "", f"{len(saves)} processes wrote the model; exactly one must.")
    if saves[0] != 0:
        return verdict(False, "", "a process that is not the main one wrote the model.")
    if waits != {0, 1, 2, 3}:
        return verdict(
            False, "", "every process must reach a barrier first, or the writer may save "
            "while another process is still in its last step (and a barrier only some "
            "processes reach hangs the run)."
        )  # fmt: skip
    first_save = events.index((0, "save"))
    if (0, "wait") not in events[:first_save]:
        return verdict(False, "", "the writer saved before the barrier.")
    return verdict(True, "one file, written once, after every process has finished.", "")
