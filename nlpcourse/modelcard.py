"""A short model card (Markdown) saved next to a checkpoint: data, split, metrics, limits."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

CARD_NAME = "README.md"  # the Hugging Face hub shows a model folder's README.md as its card


def hardware_summary(device: torch.device | str | None = None) -> str:
    """One line naming the machine: CPU model and cores, GPU if used, torch version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"]
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        parts.append(f"GPU {torch.cuda.get_device_name(device)}")
    parts.append(f"torch {torch.__version__}")
    return " · ".join(parts)


@dataclass
class ModelCard:
    """What a reader of a saved model needs to know before using it."""

    title: str
    base_model: str
    data: str
    splits: Mapping[str, int]  # part name -> rows
    metrics: Mapping[str, str]  # metric name -> value as printed (with its interval)
    training: Mapping[str, str] = field(default_factory=dict)
    limits: Sequence[str] = ()
    hardware: str = ""
    date: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )

    def to_markdown(self) -> str:
        """The card as Markdown."""
        if not self.metrics:
            raise ValueError("A model card needs at least one metric measured on the test part.")
        lines = [
            f"# {self.title}",
            "",
            f"- base model: `{self.base_model}`",
            f"- data: {self.data}",
        ]
        lines.append("- parts: " + ", ".join(f"{k} {v:,} rows" for k, v in self.splits.items()))
        lines += [f"- date: {self.date}", f"- hardware: {self.hardware or 'not recorded'}", ""]
        if self.training:
            lines += ["## Training", ""] + [f"- {k}: {v}" for k, v in self.training.items()] + [""]
        lines += [
            "## Results on the test part (scored once)",
            "",
            "| metric | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in self.metrics.items()] + [""]
        if self.limits:
            lines += ["## Limits", ""] + [f"- {limit}" for limit in self.limits] + [""]
        return "\n".join(lines)


def write_model_card(folder: Path | str, card: ModelCard) -> Path:
    """Write ``card`` as ``README.md`` into the checkpoint's ``folder``; return its path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Save the model first: the folder {folder} does not exist.")
    path = folder / CARD_NAME
    path.write_text(card.to_markdown() + "\n", encoding="utf-8")
    return path
