"""Where trained models go (``runs/<notebook>/`` at the repository's top), and reloading them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def saved_classifier(notebook: str, base_config: Any, num_labels: int) -> tuple[Any | None, str]:
    """The sequence classifier saved in ``runs/<notebook>/``, or None and the reason why not.

    The saved model is used only when it is the same kind of model as ``base_config`` (hidden
    size and vocabulary) with ``num_labels`` classes; a model left by another profile is refused,
    so a notebook never mixes a ``full`` checkpoint into a ``quick`` run.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder = run_dir(notebook, create=False)
    if not (folder / "config.json").is_file():
        return None, f"{folder} holds no saved model (run notebook {notebook} first)"
    saved = AutoConfig.from_pretrained(folder)
    problems = []
    if not any("ForSequenceClassification" in name for name in saved.architectures or []):
        problems.append(f"architecture {saved.architectures}")
    if saved.num_labels != num_labels:
        problems.append(f"{saved.num_labels} labels, not {num_labels}")
    for field in ("hidden_size", "vocab_size", "model_type"):
        if getattr(saved, field, None) != getattr(base_config, field, None):
            problems.append(f"{field} {getattr(saved, field, None)}")
    if problems:
        return None, f"{folder} holds a different model ({'; '.join(problems)}): another profile?"
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    return model.eval(), f"saved by notebook {notebook}"
