"""Knowledge distillation (DistilBERT's idea): a softened-KL loss, a student cut from a teacher."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from nlpcourse.training import History, logits_of, to_device

_LAYER = re.compile(r"(encoder\.layer\.)(\d+)(\.)")


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    labels: torch.Tensor,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """``alpha · T² · KL(teacher_T ‖ student_T) + (1 - alpha) · CE(student, labels)``.

    Both distributions are softmaxes at temperature ``T``; the ``T²`` keeps the soft term's
    gradients on the scale of the hard term's as ``T`` changes (Hinton et al., 2015). The
    teacher's logits are detached: no gradient ever reaches the teacher. With ``alpha = 0``
    this is plain cross-entropy and ``teacher_logits`` may be None.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha weighs the soft term and must lie in [0, 1], got {alpha}.")
    if student_logits.ndim != 2:
        raise ValueError(f"expected logits of shape (batch, classes), got {student_logits.shape}.")
    hard = F.cross_entropy(student_logits, labels)
    if alpha == 0.0:
        return hard
    if teacher_logits is None:
        raise ValueError("alpha > 0 needs the teacher's logits (or set alpha=0 for no teacher).")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} and student logits "
            f"{tuple(student_logits.shape)} must have the same shape (same classes, same batch)."
        )
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)  # (B, C)
    soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard


def student_layer_ids(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers to copy, starting at 0 (12 → 6 gives 0, 2, …, 10)."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(
            f"a student needs between 1 and {teacher_layers} layers (the teacher's depth), "
            f"got {student_layers}."
        )
    step = teacher_layers / student_layers
    return [int(i * step) for i in range(student_layers)]


def make_student(teacher: nn.Module, layer_ids: Sequence[int]) -> nn.Module:
    """A shallower copy of a BERT-family ``teacher``: its embeddings, head and the given layers.

    Student layer ``j`` starts as teacher layer ``layer_ids[j]``; every other weight
    (embeddings, pooler, classifier) is copied as is. The teacher is not modified.
    """
    config = getattr(teacher, "config", None)
    depth = getattr(config, "num_hidden_layers", None)
    if depth is None:
        raise ValueError("make_student needs a transformers model with config.num_hidden_layers.")
    ids = list(layer_ids)
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i < depth for i in ids):
        raise ValueError(f"layer_ids must be distinct teacher layers in 0..{depth - 1}, got {ids}.")
    teacher_state = teacher.state_dict()
    if not any(_LAYER.search(name) for name in teacher_state):
        raise ValueError("the teacher has no 'encoder.layer.N.' weights: not a BERT-family model.")
    student_config = copy.deepcopy(config)
    student_config.num_hidden_layers = len(ids)
    student = type(teacher)(student_config)
    new_index = {old: new for new, old in enumerate(ids)}
    state = {}
    for name, tensor in teacher_state.items():
        match = _LAYER.search(name)
        if match is None:
            state[name] = tensor.clone()
        elif int(match.group(2)) in new_index:
            renamed = _LAYER.sub(rf"\g<1>{new_index[int(match.group(2))]}\g<3>", name, count=1)
            state[renamed] = tensor.clone()
    student.load_state_dict(state, strict=True)
    return student


def train_student(
    student: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    temperature: float = 2.0,
    alpha: float = 0.5,
    teacher: nn.Module | None = None,
    scheduler: Any | None = None,
    progress: bool = True,
) -> History:
    """Train ``student`` on dict batches with :func:`distillation_loss`; return its history.

    The teacher's logits come from the batch's ``teacher_logits`` entry when present (computed
    once beforehand), else from running ``teacher`` under ``no_grad``. ``alpha = 0`` trains on
    the hard labels alone, the same loop and budget without a teacher.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    device = next(student.parameters()).device
    if teacher is not None:
        teacher.eval()
    history = History()
    for epoch in range(epochs):
        student.train()
        start, total, seen = time.perf_counter(), 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for batch in bar:
            batch = dict(to_device(batch, device))
            if "labels" not in batch:
                raise ValueError("each batch needs a 'labels' entry (the hard labels).")
            labels = batch.pop("labels")
            teacher_logits = batch.pop("teacher_logits", None)
            if alpha > 0 and teacher_logits is None:
                if teacher is None:
                    raise ValueError(
                        "alpha > 0 needs a teacher: pass teacher=... or put 'teacher_logits' "
                        "in the batches."
                    )
                with torch.no_grad():
                    teacher_logits = logits_of(teacher(**batch))  # (B, C)
            logits = logits_of(student(**batch))  # (B, C)
            loss = distillation_loss(logits, teacher_logits, labels, temperature, alpha)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(labels)
            seen += len(labels)
            bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        if seen == 0:
            raise ValueError("The training loader yielded no batches: is the dataset empty?")
        elapsed = time.perf_counter() - start
        history.log(loss=total / seen, epoch_time=elapsed, samples_per_s=seen / elapsed)
    history.best_epoch = history.epochs - 1
    return history
