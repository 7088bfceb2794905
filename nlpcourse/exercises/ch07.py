"""Checks for notebook 07 (CLIP: contrastive image-text learning)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from nlpcourse.config import get_profile
from nlpcourse.exercises import unanswered, verdict
from nlpcourse.train import contrastive

SHAPE_SWAP_CASES = {
    "a red circle to the left of a blue square": "a red square to the left of a blue circle",
    "a green triangle to the right of a yellow diamond": (
        "a green diamond to the right of a yellow triangle"
    ),
    "a purple square to the left of a white circle": (
        "a purple circle to the left of a white square"
    ),
}


def _batch_size() -> int:
    return get_profile().clip_train.batch_size


def aligned_loss(temperature: float, batch_size: int) -> float:
    """CLIP loss of perfectly aligned, mutually orthogonal pairs: log(1 + (N-1)·e^(-1/τ))."""
    return math.log1p((batch_size - 1) * math.exp(-1.0 / temperature))


def check_random_loss(answer: float | None) -> bool | None:
    """Exercise 1: the loss of a batch whose logits are all equal (embeddings carry no signal)."""
    if unanswered(answer, "give the loss as a number"):
        return None
    n = _batch_size()
    expected = math.log(n)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "", f"answer with a number, not {answer!r}.")
    return verdict(
        abs(value - expected) < 1e-3,
        "that is where an untrained model's loss curve starts.",
        f"with all {n} logits of a row equal, what probability does the softmax give the right "
        "caption, and what is minus its log?",
    )


def check_temperature(answer: float | None, target_loss: float = 0.1) -> bool | None:
    """Exercise 2: the temperature at which perfectly aligned pairs reach ``target_loss``."""
    if unanswered(answer, "give the temperature as a number"):
        return None
    n = _batch_size()
    try:
        tau = float(answer)
    except (TypeError, ValueError):
        return verdict(False, "", f"answer with a number, not {answer!r}.")
    if not tau > 0:
        return verdict(False, "", "a temperature is a positive number.")
    loss = aligned_loss(tau, n)
    return verdict(
        abs(loss - target_loss) < 1e-3,
        "even perfect embeddings need a small temperature to push the loss that low.",
        f"at τ = {tau:g} the loss is {loss:.4f}, not {target_loss}: solve "
        f"log(1 + {n - 1}·exp(-1/τ)) = {target_loss} for τ.",
    )


def check_shape_swap(swap: Callable[[str], str] | None) -> bool | None:
    """Exercise 3: a function building the shape-swapped hard negative of a pair caption."""
    if unanswered(swap, "define a function caption -> caption with the two shapes exchanged"):
        return None
    for caption, expected in SHAPE_SWAP_CASES.items():
        try:
            got = swap(caption)
        except Exception as error:  # a student's bug is a verdict, not a crash
            return verdict(False, "", f"swap({caption!r}) raised {type(error).__name__}: {error}")
        if got != expected:
            return verdict(
                False,
                "",
                f"swap({caption!r}) gave {got!r}; expected {expected!r} (exchange the two "
                "shape words, keep everything else).",
            )
    return verdict(
        True,
        "the same bag of words with each shape bound to the other colour: a hard negative that "
        "only a model reading word order can reject.",
        "",
    )


def _duplicate_caption_batch() -> tuple[torch.Tensor, list[str]]:
    captions = ["red circle", "blue square", "red circle", "green diamond", "blue square"]
    captions += ["red circle", "white triangle", "yellow circle"]
    logits = torch.randn(8, 8, generator=torch.Generator().manual_seed(7)) * 3  # (8, 8)
    return logits, captions


def check_multi_positive_loss(
    loss_fn: Callable[[torch.Tensor, list[str]], Any] | None,
) -> bool | None:
    """Exercise: ``loss_fn(logits_per_image, captions)``, every same-caption row a positive."""
    if unanswered(loss_fn, "define a function (logits_per_image, captions) -> loss"):
        return None
    logits, captions = _duplicate_caption_batch()
    distinct = [f"caption {i}" for i in range(8)]
    perfect = 50.0 * contrastive.positive_mask(captions).float()  # (8, 8)
    cases = (
        ("a batch whose captions are all distinct", logits, distinct),
        ("a batch with repeated captions", logits, captions),
        ("perfect logits on repeated captions", perfect, captions),
    )
    for number, (what, case_logits, case_captions) in enumerate(cases):
        try:
            got = float(loss_fn(case_logits.clone(), list(case_captions)))
        except Exception as error:  # a student's bug is a verdict, not a crash
            return verdict(False, "", f"on {what} it raised {type(error).__name__}: {error}")
        expected = float(contrastive.multi_positive_loss_from_logits(case_logits, case_captions))
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            hint = {
                0: "with distinct captions it must equal the ordinary CLIP loss.",
                1: "each row's loss is -log of the softmax mass on all its positives, in both "
                "directions (rows: images over captions; columns: captions over images), "
                "averaged over rows and then over the two directions.",
                2: "when every matching caption scores far above the rest, nothing is left to "
                "learn: the loss should be about 0, not ln m.",
            }[number]
            return verdict(False, "", f"on {what} you got {got:.4f}: {hint}")
    return verdict(
        True,
        "it agrees with the tested version on distinct and repeated captions, and a perfect "
        "model now reaches the bottom.",
        "",
    )
