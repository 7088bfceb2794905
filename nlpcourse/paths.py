"""Where trained models go: ``runs/<notebook>/`` at the top of the course repository."""

from __future__ import annotations

import os
from pathlib import Path

RUNS_ENV = "NLPCOURSE_RUNS_DIR"


def project_root(start: Path | None = None) -> Path | None:
    """The course repository holding ``start`` (default: the working folder), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "nlpcourse").is_dir():
            return folder
    return None


def run_dir(notebook: str, create: bool = True) -> Path:
    """``runs/<notebook>/`` (git-ignored) for saved models; ``NLPCOURSE_RUNS_DIR`` overrides."""
    if not notebook or "/" in notebook or notebook.startswith("."):
        raise ValueError(f"notebook must be a plain name like '01_keras_bilstm', got {notebook!r}")
    base = os.environ.get(RUNS_ENV)
    root = Path(base).expanduser() if base else (project_root() or Path.cwd()) / "runs"
    path = root / notebook
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
