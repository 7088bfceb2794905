"""Start ``scripts/finetune_ag_news.py`` under ``accelerate launch`` and read back what it wrote."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
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


def load_script(name: str = "finetune_ag_news") -> ModuleType:
    """``scripts/<name>.py`` imported as a module (its functions, without running ``main``)."""
    path = course_file("scripts", f"{name}.py")
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


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


# A rare abort of a 2-process gloo launch, measured on the course's 2-core machine (2026-12-06,
# load ~20, 47 launches of tests/train/test_scale.py's first command in a loop, 78 s each):
# 1 died, SIGABRT on rank 1 with this message (the earlier count: 1 in ~40). Rank 0
# had already passed the script's last barrier and end_training() and printed its summary, so
# rank 1 had finished its work too: it died in the interpreter's teardown, where some library's
# C++ thread (torch's c10d/gloo or pyarrow's pools; both have open reports of this message at
# exit) was destroyed while still joinable. No course code runs then, so a launch is retried
# once on that message only, with a warning; any other failure raises at once.
TEARDOWN_ABORT = "terminate called without an active exception"


def run_launch(
    command: list[str], timeout: float = 900, env: dict[str, str] | None = None, retries: int = 1
) -> str:
    """Run ``command``; return its standard output, or raise :class:`LaunchError` with its end.

    ``env`` adds to (or overrides) this process's environment variables. A launch that dies of
    the teardown abort (:data:`TEARDOWN_ABORT`) is run again, up to ``retries`` times.
    """
    env = {
        **os.environ,
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    for attempt in range(retries + 1):
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if done.returncode == 0:
            return done.stdout
        output = (done.stdout + done.stderr).strip()
        tail = "\n".join(output.splitlines()[-80:])
        if TEARDOWN_ABORT in output and attempt < retries:
            warnings.warn(
                f"a launched process aborted at exit ({TEARDOWN_ABORT!r}); launching again",
                stacklevel=2,
            )
            continue
        raise LaunchError(f"the launched run failed (exit {done.returncode}):\n{tail}")
    raise AssertionError("unreachable")  # pragma: no cover


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
