"""A Keras-style training API for PyTorch: ``fit``, ``evaluate``, ``predict`` and a history.

A batch is either
* a tuple ``(*inputs, labels)``: the model is called as ``model(*inputs)``, or
* a mapping with a ``"labels"`` key (a Hugging Face batch): the model is called with the other
  keys as keyword arguments.

The model returns logits (a tensor, or an object with a ``.logits`` attribute). ``fit`` computes
the loss itself with ``loss_fn`` (cross-entropy by default; binary cross-entropy on logits when
the model has one output), so gradient accumulation and mixed precision work the same way for
every model in the course.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What ``fit`` measured, epoch by epoch (like Keras's ``History.history``) and step by step.

    ``steps`` has one entry per optimizer step: ``step`` (1-based), ``epoch`` (fractional,
    e.g. 0.25 a quarter into the first epoch), ``loss`` (mean over the step's micro-batches),
    ``lr`` (one learning rate per parameter group, before the scheduler moves it) and
    ``grad_norm`` (the global L2 norm of the gradient before clipping). ``evals`` has one
    entry per validation pass made inside an epoch by ``fit(eval_every=...)`` and at each
    epoch's end: ``step``, ``epoch`` (fractional) and the ``val_…`` values.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None  # 0-based epoch whose weights the model holds at the end
    stopped_early: bool = False
    steps: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)

    def log(self, **values: float) -> None:
        """Append one epoch's values."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def step_values(self, key: str, group: int = 0) -> tuple[list[float], list[float]]:
        """``(epochs, values)`` of one per-step quantity (``lr`` picks parameter ``group``)."""
        if not self.steps:
            raise ValueError("No steps were logged: was this History filled by fit()?")
        if key not in self.steps[0]:
            raise ValueError(f"Steps log {sorted(self.steps[0])}, not {key!r}.")
        values = [row[key][group] if key == "lr" else row[key] for row in self.steps]
        return [row["epoch"] for row in self.steps], values

    def eval_values(self, key: str) -> tuple[list[float], list[float]]:
        """``(epochs, values)`` of one validation quantity (e.g. ``val_loss``) from ``evals``."""
        if not self.evals:
            raise ValueError("No validation passes were logged: fit() with a val_loader logs them.")
        if key not in self.evals[0]:
            raise ValueError(f"Validation passes log {sorted(self.evals[0])}, not {key!r}.")
        return [row["epoch"] for row in self.evals], [row[key] for row in self.evals]

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.history.get("loss", []))

    def last(self, key: str) -> float:
        """The last recorded value of ``key``."""
        return self.history[key][-1]


def split_batch(batch: Any, require_labels: bool = True) -> tuple[tuple, dict, Any]:
    """Split a batch into positional inputs, keyword inputs and labels (None if absent)."""
    if isinstance(batch, Mapping):
        if require_labels and "labels" not in batch:
            raise ValueError("A dictionary batch needs a 'labels' entry (the targets).")
        kwargs = {key: value for key, value in batch.items() if key != "labels"}
        return (), kwargs, batch.get("labels")
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return tuple(batch[:-1]), {}, batch[-1]
    raise ValueError(
        "A batch must be a tuple (*inputs, labels) or a dict with a 'labels' key; "
        f"got {type(batch).__name__}."
    )


def to_device(value: Any, device: torch.device) -> Any:
    """Move tensors (also inside tuples, lists and dicts) to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_device(item, device) for item in value)
    return value


def logits_of(output: Any) -> torch.Tensor:
    """The logits of a model output (a tensor or an object with ``.logits``)."""
    return output if isinstance(output, torch.Tensor) else output.logits


def default_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy, or binary cross-entropy on logits when there is a single output."""
    if logits.ndim == 1 or logits.shape[-1] == 1:
        return nn.functional.binary_cross_entropy_with_logits(
            logits.reshape(-1), labels.float().reshape(-1)
        )
    return nn.functional.cross_entropy(logits, labels)


def predicted_labels(logits: torch.Tensor) -> torch.Tensor:
    """Class predictions: threshold 0 for one output, argmax otherwise."""
    if logits.ndim == 1 or logits.shape[-1] == 1:
        return (logits.reshape(-1) > 0).long()
    return logits.argmax(dim=-1)


def is_classification(labels: torch.Tensor) -> bool:
    """True when the labels are class ids (integers), so accuracy makes sense."""
    return not torch.is_floating_point(labels)


def _batch_size(labels: torch.Tensor) -> int:
    return int(labels.shape[0]) if labels.ndim else 1


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn = default_loss,
    device: torch.device | str | None = None,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Mean loss (and accuracy for class labels) of ``model`` over ``loader``."""
    device = torch.device(device) if device is not None else _model_device(model)
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    classification = True
    for batch in loader:
        args, kwargs, labels = split_batch(to_device(batch, device))
        with _autocast(device, amp_dtype):
            logits = logits_of(model(*args, **kwargs))
        logits = logits.float()
        size = _batch_size(labels)
        total_loss += loss_fn(logits, labels).item() * size
        classification = is_classification(labels)
        if classification:
            correct += (predicted_labels(logits) == labels.reshape(-1)).sum().item()
        seen += size
    if seen == 0:
        raise ValueError("The evaluation loader yielded no batches: is the dataset empty?")
    result = {"loss": total_loss / seen}
    if classification:
        result["accuracy"] = correct / seen
    return result


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    amp_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Concatenated logits of ``model`` over ``loader`` (labels, if present, are ignored)."""
    device = torch.device(device) if device is not None else _model_device(model)
    model.eval()
    outputs = []
    for batch in loader:
        args, kwargs, _ = split_batch(to_device(batch, device), require_labels=False)
        with _autocast(device, amp_dtype):
            outputs.append(logits_of(model(*args, **kwargs)).float().cpu())
    if not outputs:
        raise ValueError("The prediction loader yielded no batches: is the dataset empty?")
    return torch.cat(outputs)


def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _log_eval(
    history: History,
    model: nn.Module,
    val_loader: Iterable | None,
    loss_fn: LossFn,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    measured: dict[str, float] | None = None,
) -> None:
    """Score ``val_loader`` (unless ``measured`` is given) into ``history.evals`` at this step."""
    if measured is None:  # a DataLoader draws its base seed: keep training's random stream
        with torch.random.fork_rng(devices=[]):
            measured = evaluate(model, val_loader, loss_fn, device, amp_dtype)
    last = history.steps[-1]
    history.evals.append(
        {"step": last["step"], "epoch": last["epoch"]}
        | {f"val_{key}": value for key, value in measured.items()}
    )


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn = default_loss,
    scheduler: Any | None = None,
    device: torch.device | str | None = None,
    grad_clip: float | None = None,
    accumulation_steps: int = 1,
    amp_dtype: torch.dtype | None = None,
    patience: int | None = None,
    monitor: str = "val_accuracy",
    progress: bool = True,
    eval_every: int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs, Keras-style; return the :class:`History`.

    * ``accumulation_steps`` micro-batches make one optimizer step; each micro-batch's mean
      loss is weighted by its share of the window's rows (the last, partial window and a short
      last micro-batch included), so a window's gradient is the mean over its examples; the
      optimizer and the ``scheduler`` step once per window.
    * ``amp_dtype`` (``torch.bfloat16`` or ``torch.float16``) turns on ``torch.autocast``;
      float16 also uses a ``torch.amp.GradScaler`` on any device (CPU included), and
      ``grad_clip`` then clips the unscaled gradients.
    * ``patience`` turns on early stopping on ``monitor`` (a ``val_…`` key: higher is better
      except for losses); the best epoch's weights are restored at the end.
    * ``eval_every`` optimizer steps, the ``val_loader`` is also scored inside an epoch (into
      ``history.evals``, beside each epoch's end), so validation can be drawn on the same axes
      as the per-step training loss; it changes no weight and no random draw.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be at least 1, got {accumulation_steps}.")
    if patience is not None and val_loader is None:
        raise ValueError("Early stopping (patience) needs a val_loader to monitor.")
    if eval_every is not None and (eval_every < 1 or val_loader is None):
        raise ValueError(f"eval_every={eval_every} needs a val_loader and a count of at least 1.")
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    history = History()
    lower_is_better = "loss" in monitor
    best_score, best_state, waited = math.inf if lower_is_better else -math.inf, None, 0

    # a loader without len() (a generator) is read once here, so every epoch sees its batches
    batches = train_loader if hasattr(train_loader, "__len__") else list(train_loader)
    n_batches = len(batches)
    if n_batches == 0:
        raise ValueError("The training loader yielded no batches: is the dataset empty?")
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        total_loss, correct, seen, classification = 0.0, 0, 0, True
        # refresh=False below and a 0.5 s interval keep a notebook's message stream small
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{epochs}",
            disable=not progress,
            leave=False,
            mininterval=0.5,
        )
        optimizer.zero_grad(set_to_none=True)
        window_batches: list = []
        for step, batch in enumerate(bar):
            window_start = step - step % accumulation_steps
            window = min(accumulation_steps, n_batches - window_start)
            window_batches.append(batch)
            if len(window_batches) < window:
                continue  # the window's rows must be counted before its first backward()
            window_loss, window_seen = 0.0, 0
            window_rows = sum(_batch_size(split_batch(b)[2]) for b in window_batches)
            for micro in window_batches:
                args, kwargs, labels = split_batch(to_device(micro, device))
                with _autocast(device, amp_dtype):
                    logits = logits_of(model(*args, **kwargs))
                loss = loss_fn(logits.float(), labels)
                size = _batch_size(labels)
                # weight each micro-batch by its share of the window's rows, so the window's
                # gradient is the mean over its examples even when the last micro-batch is short
                scaler.scale(loss * (size / window_rows)).backward()
                window_loss += loss.item() * size
                window_seen += size
                total_loss += loss.item() * size
                seen += size
                classification = is_classification(labels)
                if classification:
                    predicted = predicted_labels(logits.detach())
                    correct += (predicted == labels.reshape(-1)).sum().item()
            window_batches = []
            scaler.unscale_(optimizer)  # true gradients (a no-op without a scaler)
            grad_norm = nn.utils.clip_grad_norm_(
                model.parameters(), grad_clip if grad_clip is not None else math.inf
            )
            history.steps.append(
                {
                    "step": len(history.steps) + 1,
                    "epoch": epoch + (step + 1) / n_batches,
                    "loss": window_loss / window_seen,
                    "lr": [group["lr"] for group in optimizer.param_groups],
                    "grad_norm": float(grad_norm),
                }
            )
            scaler.step(optimizer)  # skipped (and the scale lowered) if a gradient overflowed
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            if scheduler is not None:
                scheduler.step()
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
            done = step + 1 == n_batches
            if eval_every is not None and len(history.steps) % eval_every == 0 and not done:
                _log_eval(history, model, val_loader, loss_fn, device, amp_dtype)
                model.train()
        elapsed = time.perf_counter() - start
        values = {"loss": total_loss / seen}
        if classification:
            values["accuracy"] = correct / seen
        if val_loader is not None:
            measured = evaluate(model, val_loader, loss_fn, device, amp_dtype)
            values.update({f"val_{key}": value for key, value in measured.items()})
            _log_eval(history, model, None, loss_fn, device, amp_dtype, measured)
        values.update(epoch_time=elapsed, samples_per_s=seen / elapsed)
        history.log(**values)
        if progress:
            shown = {k: v for k, v in values.items() if k not in {"epoch_time", "samples_per_s"}}
            print(
                f"epoch {epoch + 1}/{epochs} · "
                + " · ".join(f"{k} {v:.4f}" for k, v in shown.items())
                + f" · {values['samples_per_s']:.0f} samples/s"
            )
        if patience is None:  # no early stopping: nothing to monitor, the last epoch is kept
            continue
        if monitor not in values:
            raise ValueError(f"monitor={monitor!r} is not measured; choose one of {list(values)}.")
        score = values[monitor]
        improved = score < best_score if lower_is_better else score > best_score
        if improved:
            best_score, waited, history.best_epoch = score, 0, epoch
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                history.stopped_early = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)  # early stopping: back to the best epoch's weights
    else:
        history.best_epoch = history.epochs - 1  # the model holds the last epoch's weights
    return history
