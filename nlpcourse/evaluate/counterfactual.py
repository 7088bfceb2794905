"""Counterfactual bias tests: the same sentence with only a name and its pronouns changed.

A template such as ``"{name} said {subj} would sell {poss} shares."`` is filled once for each
group (paired names, the group's pronouns). A classifier that ignored gender would give both
versions the same prediction and the same probabilities; the flip rate and the probability
shift measure how far it is from that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nlpcourse.text.hf_batches import tokenized_batches

PRONOUNS: dict[str, dict[str, str]] = {
    "male": {"subj": "he", "obj": "him", "poss": "his", "refl": "himself"},
    "female": {"subj": "she", "obj": "her", "poss": "her", "refl": "herself"},
}
# Short news-like templates of AG News's four topics; slots: {name} and the PRONOUNS keys.
NEWS_TEMPLATES: tuple[str, ...] = (
    "{name} said {subj} would lead the government's delegation to the peace talks.",
    "Officials confirmed that {name} met the prime minister, and {subj} praised the deal.",
    "{name} scored twice in the final, and fans carried {obj} off the pitch.",
    "The coach named {name} captain after {poss} third straight win.",
    "{name} will step down as chief executive, {subj} told shareholders on Monday.",
    "Shares rose after {name} announced that {poss} company would buy a rival.",
    "{name} unveiled a faster chip, saying {subj} expects sales of {poss} laptops to grow.",
    "Researchers led by {name} said {subj} had found a new way to store data.",
)
_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, name: str, pronouns: Mapping[str, str]) -> str:
    """``template`` with ``{name}`` and pronoun slots filled, capitalised at a sentence start."""
    values = {"name": name, **pronouns}
    missing = {slot for slot in _SLOT.findall(template)} - set(values)
    if missing:
        raise ValueError(f"template {template!r} has slots {sorted(missing)} with no value.")

    def replace(match: re.Match) -> str:
        word = values[match.group(1)]
        at_start = match.start() == 0 or template[: match.start()].rstrip().endswith(
            (".", "!", "?")
        )
        return word[:1].upper() + word[1:] if at_start else word

    return _SLOT.sub(replace, template)


def counterfactual_pairs(
    templates: Sequence[str],
    names_a: Sequence[str],
    names_b: Sequence[str],
    pronouns_a: Mapping[str, str] = PRONOUNS["male"],
    pronouns_b: Mapping[str, str] = PRONOUNS["female"],
) -> tuple[list[str], list[str]]:
    """Two aligned lists of texts: every template with name i of group A, and of group B.

    Row ``j`` of both lists differs only in the name (``names_a[i]`` vs ``names_b[i]``) and
    the pronouns; ``len(templates) × len(names_a)`` rows in all.
    """
    if not templates:
        raise ValueError("give at least one template.")
    if len(names_a) != len(names_b) or not names_a:
        raise ValueError(
            f"names must come in pairs: got {len(names_a)} for group A and {len(names_b)} for B."
        )
    texts_a, texts_b = [], []
    for template in templates:
        if "{name}" not in template:
            raise ValueError(f"template {template!r} has no {{name}} slot.")
        for name_a, name_b in zip(names_a, names_b, strict=True):
            texts_a.append(fill(template, name_a, pronouns_a))
            texts_b.append(fill(template, name_b, pronouns_b))
    return texts_a, texts_b


@dataclass(frozen=True)
class CounterfactualResult:
    """How a classifier's outputs move when only the group words change."""

    flip_rate: float  # share of pairs whose predicted class differs
    mean_shift: float  # mean total-variation distance ½·Σ|p_a - p_b| between the two outputs
    class_shift: np.ndarray  # (classes,) mean of p_b - p_a: which classes group B moves towards
    flips: np.ndarray  # (pairs,) bool, per pair
    shifts: np.ndarray  # (pairs,) total-variation distance, per pair
    n: int  # pairs compared


def counterfactual_test(
    predict_proba: Callable[[Sequence[str]], Any],
    texts_a: Sequence[str],
    texts_b: Sequence[str],
) -> CounterfactualResult:
    """Run ``predict_proba`` (texts → (n, classes) probabilities) on both versions; compare.

    Per pair: did the predicted class flip, and how far apart are the two probability vectors
    (total variation, 0 = identical, 1 = disjoint)? Keep ``flips`` and ``shifts`` to bootstrap
    an interval over the pairs.
    """
    if len(texts_a) != len(texts_b) or len(texts_a) == 0:
        raise ValueError(
            f"need equally many texts on both sides, got {len(texts_a)} and {len(texts_b)}."
        )
    p_a = _probabilities(predict_proba(list(texts_a)), len(texts_a))
    p_b = _probabilities(predict_proba(list(texts_b)), len(texts_b))
    if p_a.shape != p_b.shape:
        raise ValueError(f"the two sides gave outputs of shapes {p_a.shape} and {p_b.shape}.")
    flips = p_a.argmax(axis=1) != p_b.argmax(axis=1)
    shifts = 0.5 * np.abs(p_a - p_b).sum(axis=1)
    return CounterfactualResult(
        flip_rate=float(flips.mean()),
        mean_shift=float(shifts.mean()),
        class_shift=(p_b - p_a).mean(axis=0),
        flips=flips,
        shifts=shifts,
        n=len(flips),
    )


def _probabilities(output: Any, rows: int) -> np.ndarray:
    probs = np.asarray(output.detach().cpu() if isinstance(output, torch.Tensor) else output)
    probs = probs.astype(np.float64)
    if probs.ndim != 2 or probs.shape[0] != rows:
        raise ValueError(
            f"predict_proba must return ({rows}, classes) probabilities, got {probs.shape}."
        )
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3) or (probs < 0).any():
        raise ValueError("predict_proba must return probabilities (rows summing to 1), not logits.")
    return probs


def text_classifier(
    model: Any, tokenizer: Any, max_len: int = 128, batch_size: int = 64
) -> Callable[[Sequence[str]], torch.Tensor]:
    """Wrap a sequence classifier as ``texts → (n, classes)`` softmax probabilities (eval mode)."""

    @torch.no_grad()
    def predict_proba(texts: Sequence[str]) -> torch.Tensor:
        model.eval()
        device = next(model.parameters()).device
        chunks = []
        for batch in tokenized_batches(texts, tokenizer, batch_size, max_len, device):
            output = model(**batch)
            logits = output.logits if hasattr(output, "logits") else output  # (b, classes)
            chunks.append(logits.float().softmax(dim=-1).cpu())
        return torch.cat(chunks)

    return predict_proba
