"""Start ``scripts/finetune_ag_news.py`` under ``accelerate launch`` and read back what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nlpcourse.data.runs import project_root
from nlpcourse.errors import CourseError


class LaunchError(CourseError):
    """A launched training run failed; the message carries the end of its output."""


def course_file(*parts: str) -> Path:
    """A file of the course repository (``scripts/…``, ``configs/…``), which must exist."""
    root = project_root(Path(__file__).resolve().parent) or Path.cwd()
    path = root.joinpath(*parts)
    if not path.exists():
        raise CourseError(f"{path} is missing: run this from a checkout of the course repository.")
    return path


def launch_command(
    script_args: list[str], config: str | None = None, num_processes: int | None = None
) -> list[str]:
    """The ``accelerate launch`` command for the fine-tuning script.

    ``config`` names a file in ``configs/accelerate/``; ``num_processes`` overrides its count.
    Without a config the script runs as one plain Python process (Accelerate needs no launcher
    for one process).
    """
    script = str(course_file("scripts", "finetune_ag_news.py"))
    if config is None:
        return [sys.executable, script, *script_args]
    command = [sys.executable, "-m", "accelerate.commands.launch"]
    command += ["--config_file", str(course_file("configs", "accelerate", config))]
    if num_processes is not None:
        command += ["--num_processes", str(num_processes)]
    return [*command, script, *script_args]


def run_launch(command: list[str], timeout: float = 900, env: dict[str, str] | None = None) -> str:
    """Run ``command``; return its standard output, or raise :class:`LaunchError` with its end.

    ``env`` adds to (or overrides) this process's environment variables.
    """
    env = {
        **os.environ,
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-80:])
        raise LaunchError(f"the launched run failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def read_metrics(output_dir: Path) -> dict[str, Any]:
    """The ``metrics.json`` a run wrote to ``output_dir``."""
    path = Path(output_dir) / "metrics.json"
    if not path.is_file():
        raise CourseError(f"{path} is missing: the run did not finish (see its output).")
    return json.loads(path.read_text())


def load_weights(model_dir: Path) -> dict[str, Any]:
    """The tensors of a saved ``model.safetensors`` (no code is run to load them)."""
    from safetensors.torch import load_file

    return load_file(str(Path(model_dir) / "model.safetensors"))
