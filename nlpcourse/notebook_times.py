"""How long each notebook took: written by the test run (root ``conftest.py``), read by 00."""

from __future__ import annotations

import csv
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("notebook", "seconds", "result", "date", "machine")
BUDGET_SECONDS = 300.0  # every notebook: at most 5 minutes in the quick profile on 2 CPU cores


@dataclass(frozen=True)
class NotebookTime:
    """One notebook's measured wall time under nbval."""

    notebook: str
    seconds: float
    result: str  # "passed" or "FAILED"
    date: str  # ISO date of the run
    machine: str  # one line: CPU cores, GPU, Python and torch versions

    @property
    def within_budget(self) -> bool:
        """True when the notebook ran within :data:`BUDGET_SECONDS`."""
        return self.seconds <= BUDGET_SECONDS


def machine_description() -> str:
    """One line saying what the run was measured on (cores, GPU, Python, torch)."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} CPU cores ({platform.machine()}), {gpu}, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def write_notebook_times(rows: Iterable[NotebookTime], path: str | Path) -> Path:
    """Write ``rows`` as CSV with the header :data:`FIELDS`; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([row.notebook, f"{row.seconds:.1f}", row.result, row.date, row.machine])
    return path


def read_notebook_times(path: str | Path) -> list[NotebookTime] | None:
    """The rows of a file written by :func:`write_notebook_times`; None when it is missing."""
    path = Path(path)
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise ValueError(f"{path} has columns {reader.fieldnames}, expected {list(FIELDS)}.")
        return [
            NotebookTime(r["notebook"], float(r["seconds"]), r["result"], r["date"], r["machine"])
            for r in reader
        ]


def format_notebook_times(rows: list[NotebookTime]) -> str:
    """A plain-text table: notebook, seconds, the 4-minute budget, result; then the total."""
    lines = [f"{'notebook':<36} {'seconds':>8} {'budget':>7}  within  result"]
    for row in rows:
        within = "yes" if row.within_budget else "NO"
        lines.append(
            f"{row.notebook:<36} {row.seconds:>8.0f} {BUDGET_SECONDS:>7.0f}  {within:<6}  "
            f"{row.result}"
        )
    total = sum(row.seconds for row in rows)
    lines.append(f"{'total':<36} {total:>8.0f}")
    return "\n".join(lines)


def measured_times_path() -> Path:
    """``data/notebook_times.csv`` in the course repository: the committed measured run."""
    from nlpcourse.data.runs import project_root

    return (project_root() or Path.cwd()) / "data" / "notebook_times.csv"
