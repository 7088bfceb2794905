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

from nlpcourse.data.splits import UNLABELLED
from nlpcourse.train.loop import History, logits_of, to_device

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

    Rows labelled :data:`~nlpcourse.data.splits.UNLABELLED` (-100) have no gold label: they
    add only the soft term. Per row ``i`` of a batch of ``B``, the loss is
    ``(1/B) Σ_i [alpha · T² · KL_i + (1 - alpha) · CE_i · labelled_i]``; when every row is
    labelled this is the usual mean of both terms.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha weighs the soft term and must lie in [0, 1], got {alpha}.")
    if student_logits.ndim != 2:
        raise ValueError(f"expected logits of shape (batch, classes), got {student_logits.shape}.")
    rows = max(len(labels), 1)
    hard = F.cross_entropy(student_logits, labels, ignore_index=UNLABELLED, reduction="sum") / rows
    if alpha == 0.0:
        return hard
    if teacher_logits is None:
        raise ValueError("alpha > 0 needs the teacher's logits (or set alpha=0 for no teacher).")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} and student logits "
            f"{tuple(student_logits.shape)} must have the same shape (same classes, same batch)."
        )
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    return alpha * soft + (1.0 - alpha) * hard


def soft_target_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0
) -> torch.Tensor:
    """``T² · KL(teacher_T ‖ student_T)`` in its numerically safe form, averaged over rows.

    Both sides stay in log space (``log_softmax`` and ``kl_div(..., log_target=True)``): a
    peaked teacher whose softmax underflows to exact zeros would make ``softmax(...).log()``
    give ``-inf`` and ``0 · -inf = NaN``; here every term stays finite. The teacher is detached.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    if teacher_logits.shape != student_logits.shape or student_logits.ndim != 2:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} and student logits "
            f"{tuple(student_logits.shape)} must both be (batch, classes)."
        )
    log_p_student = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=-1)  # (B, C)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)  # ()
    return temperature**2 * kl


def soft_targets(logits: torch.Tensor, temperatures: Sequence[float]) -> torch.Tensor:
    """The softmax of ``logits`` (classes,) at each temperature: (len(temperatures), classes)."""
    if logits.ndim != 1:
        raise ValueError(f"give one row of logits (classes,), got shape {tuple(logits.shape)}.")
    if not temperatures or min(temperatures) <= 0:
        raise ValueError(f"temperatures must be positive numbers, got {list(temperatures)}.")
    return torch.stack([F.softmax(logits.float() / t, dim=-1) for t in temperatures])


def plot_soft_targets(
    logits: torch.Tensor,
    class_names: Sequence[str],
    temperatures: Sequence[float] = (1, 2, 5, 10),
    ax: Any = None,
) -> Any:
    """Bars of the teacher's class probabilities at several temperatures, side by side."""
    import matplotlib.pyplot as plt
    import numpy as np

    probs = soft_targets(torch.as_tensor(logits).detach().cpu(), temperatures).numpy()
    if probs.shape[1] != len(class_names):
        raise ValueError(f"{probs.shape[1]} logits but {len(class_names)} class names.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    width = 0.8 / len(temperatures)
    x = np.arange(len(class_names))
    for i, (t, row) in enumerate(zip(temperatures, probs, strict=True)):
        ax.bar(x + (i - (len(temperatures) - 1) / 2) * width, row, width, label=f"T = {t:g}")
    ax.set(xticks=x, xticklabels=list(class_names), ylabel="probability", ylim=(0, 1))
    ax.set_title("teacher's soft targets: higher T shows the wrong classes' shares")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax


def student_layer_ids(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers to copy, starting at 0 (12 → 6 gives 0, 2, …, 10)."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(
            f"a student needs between 1 and {teacher_layers} layers (the teacher's depth), "
            f"got {student_layers}."
        )
    step = teacher_layers / student_layers
    return [int(i * step) for i in range(student_layers)]


def every_other_layer(teacher_layers: int) -> list[int]:
    """DistilBERT's choice: teacher layers 0, 2, 4, … (12 → 6 layers, 6 → 3)."""
    if teacher_layers < 1:
        raise ValueError(f"the teacher needs at least one layer, got {teacher_layers}.")
    return list(range(0, teacher_layers, 2))


def make_student(teacher: nn.Module, layer_ids: Sequence[int] | None = None) -> nn.Module:
    """A shallower copy of a BERT-family ``teacher``: its embeddings, head and the given layers.

    Student layer ``j`` starts as teacher layer ``layer_ids[j]`` (default: every other layer,
    as DistilBERT); every other weight (embeddings, pooler, classifier) is copied as is. The
    teacher is not modified.
    """
    config = getattr(teacher, "config", None)
    depth = getattr(config, "num_hidden_layers", None)
    if depth is None:
        raise ValueError("make_student needs a transformers model with config.num_hidden_layers.")
    ids = every_other_layer(depth) if layer_ids is None else list(layer_ids)
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


def layers_match(student: nn.Module, teacher: nn.Module, layer_ids: Sequence[int]) -> bool:
    """True when student layer j equals teacher layer ``layer_ids[j]`` and all else is equal.

    Compares every tensor of the two state dicts (embeddings, layers, pooler, head), so a
    student written by hand can be checked against :func:`make_student`.
    """
    ids = list(layer_ids)
    student_state, teacher_state = student.state_dict(), teacher.state_dict()
    layers = {int(m.group(2)) for name in student_state if (m := _LAYER.search(name))}
    if layers != set(range(len(ids))):
        return False
    for name, tensor in student_state.items():
        match = _LAYER.search(name)
        if match is not None:
            old = ids[int(match.group(2))]
            name = _LAYER.sub(rf"\g<1>{old}\g<3>", name, count=1)
        source = teacher_state.get(name)
        if source is None or source.shape != tensor.shape or not torch.equal(source, tensor):
            return False
    return True


def teacher_logits_loader(
    tokenized: Any,
    tokenizer: Any,
    teacher_logits: torch.Tensor,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 42,
) -> Any:
    """Batches of the transfer set with the teacher's logits (computed once) in each batch.

    ``teacher_logits`` (rows, classes) lines up with the rows of ``tokenized`` (from
    ``tokenize_dataset``), e.g. ``training.predict(teacher, make_loader(tokenized, ...))``.
    Each batch carries a ``teacher_logits`` entry, so :func:`train_student` never runs the
    teacher again, whatever the number of seeds.
    """
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding

    logits = torch.as_tensor(teacher_logits, dtype=torch.float32).cpu()
    if logits.ndim != 2 or len(logits) != len(tokenized):
        raise ValueError(
            f"teacher_logits must be (rows, classes) with one row per example: got "
            f"{tuple(logits.shape)} for {len(tokenized)} rows."
        )
    columns = ("input_ids", "attention_mask", "token_type_ids", "labels")
    rows = tokenized.with_format(columns=[c for c in columns if c in tokenized.column_names])
    pad = DataCollatorWithPadding(tokenizer, return_tensors="pt")

    class _Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(rows)

        def __getitem__(self, index: int) -> tuple[int, dict]:
            return index, rows[index]

    def collate(items: list[tuple[int, dict]]) -> dict:
        indices = torch.tensor([index for index, _ in items])
        batch = dict(pad([features for _, features in items]))
        batch["teacher_logits"] = logits[indices]  # (B, C)
        return batch

    return DataLoader(
        _Rows(),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
    )


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
        # tqdm.auto's bar calls iter(loader) once more when wrapping it, which draws from a
        # seeded DataLoader's generator and changes the shuffled order: count steps beside it
        total_batches = len(loader) if hasattr(loader, "__len__") else None
        desc = f"epoch {epoch + 1}/{epochs}"
        bar = tqdm(total=total_batches, desc=desc, disable=not progress, leave=False)
        for batch in loader:
            bar.update(1)
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
        bar.close()
        if seen == 0:
            raise ValueError("The training loader yielded no batches: is the dataset empty?")
        elapsed = time.perf_counter() - start
        history.log(loss=total / seen, epoch_time=elapsed, samples_per_s=seen / elapsed)
    history.best_epoch = history.epochs - 1
    return history
