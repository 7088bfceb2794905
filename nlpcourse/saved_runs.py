"""Models one notebook saves under ``runs/`` and a later notebook reuses (06's classifier in 08)."""

from __future__ import annotations

from typing import Any

from nlpcourse.paths import run_dir


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
