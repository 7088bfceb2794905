"""Fine-tuning optimizers: AdamW parameter groups, layer-wise LR decay, freezing, schedules.

* :func:`param_groups` splits a model's trainable parameters into AdamW groups: the pretrained
  body at a low learning rate, the new head at a higher one, and no weight decay on biases and
  normalisation weights. With ``layer_decay`` each encoder layer of the body gets its own rate,
  smaller the further it is from the head (layer-wise learning-rate decay).
* :func:`freeze` switches gradients off for parameters by name prefix.
* :func:`make_scheduler` and :func:`lr_curve` wrap the warmup schedules of ``transformers``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
)
SCHEDULES = ("linear", "cosine", "constant")
_LAYER_INDEX = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def no_decay_names(model: nn.Module) -> set[str]:
    """Names of the parameters that should get no weight decay: biases and norm weights."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if param_name == "bias" or isinstance(module, NORM_TYPES):
                names.add(full)
    return names


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer_depth(name: str, num_layers: int) -> int:
    """Depth of a body parameter: 0 for embeddings, i + 1 for layer i, num_layers + 1 above."""
    found = _LAYER_INDEX.search(name)
    if found:
        return int(found.group(1)) + 1
    if "embeddings" in name:
        return 0
    return num_layers + 1  # e.g. BERT's pooler: above the last layer


def count_layers(names: Iterable[str]) -> int:
    """How many numbered layers (``...layer.N...``) the parameter names mention."""
    indices = [int(m.group(1)) for n in names if (m := _LAYER_INDEX.search(n))]
    return max(indices) + 1 if indices else 0


def param_groups(
    model: nn.Module,
    body_lr: float,
    head_lr: float | None = None,
    head: Sequence[str] = ("classifier",),
    weight_decay: float = 0.01,
    layer_decay: float | None = None,
) -> list[dict[str, Any]]:
    """AdamW parameter groups: body vs head learning rates, no decay on biases and norms.

    ``head`` lists name prefixes of the new layers (``"classifier"`` for
    ``BertForSequenceClassification``); they get ``head_lr`` (default: ``body_lr``). With
    ``layer_decay`` (e.g. 0.8) a body parameter at depth ``d`` of ``L`` layers gets
    ``body_lr * layer_decay ** (L + 1 - d)``: the top layer 0.8 x ``body_lr``, the embeddings
    the smallest rate. Frozen parameters (``requires_grad=False``) are left out. Every group has
    a ``name`` key, which ``torch.optim`` keeps and :func:`describe_groups` prints.
    """
    if body_lr <= 0 or (head_lr is not None and head_lr <= 0):
        raise ValueError(f"learning rates must be positive, got body {body_lr}, head {head_lr}.")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
    if layer_decay is not None and not 0 < layer_decay <= 1:
        raise ValueError(f"layer_decay must be in (0, 1], got {layer_decay}.")
    head = tuple(head)
    named = list(model.named_parameters())
    unmatched = [p for p in head if not any(_matches(n, (p,)) for n, _ in named)]
    if unmatched:
        raise ValueError(
            f"No parameter name starts with the head prefix(es) {unmatched}. "
            f"Top-level names are {sorted({n.split('.')[0] for n, _ in named})}."
        )
    head_lr = body_lr if head_lr is None else head_lr
    skip_decay = no_decay_names(model)
    body_names = [n for n, p in named if p.requires_grad and not _matches(n, head)]
    num_layers = count_layers(body_names)
    groups: dict[str, dict[str, Any]] = {}
    for name, param in named:
        if not param.requires_grad:
            continue
        decay = "no_decay" if name in skip_decay else "decay"
        if _matches(name, head):
            key, lr = f"head/{decay}", head_lr
        elif layer_decay is None:
            key, lr = f"body/{decay}", body_lr
        else:
            depth = layer_depth(name, num_layers)
            part = "embeddings" if depth == 0 else f"layer_{depth - 1:02d}"
            part = "top" if depth == num_layers + 1 else part
            key, lr = f"{part}/{decay}", body_lr * layer_decay ** (num_layers + 1 - depth)
        group = groups.setdefault(
            key,
            {"name": key, "params": [], "lr": lr, "weight_decay": weight_decay},
        )
        if decay == "no_decay":
            group["weight_decay"] = 0.0
        group["params"].append(param)
    if not groups:
        raise ValueError("The model has no trainable parameters (all are frozen).")
    return list(groups.values())


def describe_groups(optimizer_or_groups: torch.optim.Optimizer | list[dict]) -> pd.DataFrame:
    """One row per parameter group: name, tensors, parameters, learning rate, weight decay."""
    groups = (
        optimizer_or_groups.param_groups
        if isinstance(optimizer_or_groups, torch.optim.Optimizer)
        else optimizer_or_groups
    )
    rows = [
        {
            "group": group.get("name", f"group {i}"),
            "tensors": len(group["params"]),
            "parameters": sum(p.numel() for p in group["params"]),
            "lr": group["lr"],
            "weight_decay": group.get("weight_decay", 0.0),
        }
        for i, group in enumerate(groups)
    ]
    return pd.DataFrame(rows).set_index("group")


def freeze(model: nn.Module, prefixes: Sequence[str]) -> int:
    """Stop gradients for every parameter whose name starts with a prefix; return how many."""
    named = list(model.named_parameters())
    frozen = 0
    for prefix in prefixes:
        matched = [p for n, p in named if _matches(n, (prefix,))]
        if not matched:
            raise ValueError(f"No parameter name starts with {prefix!r}: nothing to freeze.")
        for param in matched:
            frozen += param.numel() if param.requires_grad else 0
            param.requires_grad_(False)
    return frozen


def bert_freeze_prefixes(base: str, embeddings: bool = True, layers: int = 0) -> list[str]:
    """Prefixes freezing a BERT's embeddings and its lowest ``layers`` encoder layers.

    ``base`` is the attribute holding the encoder (``"bert"`` inside
    ``BertForSequenceClassification``; ``""`` for a bare ``BertModel``).
    """
    if layers < 0:
        raise ValueError(f"layers must be >= 0, got {layers}.")
    dot = f"{base}." if base else ""
    prefixes = [f"{dot}embeddings"] if embeddings else []
    return prefixes + [f"{dot}encoder.layer.{i}" for i in range(layers)]


def check_schedule_steps(warmup_steps: int, total_steps: int) -> None:
    """Raise a clear error unless 0 <= warmup_steps <= total_steps and total_steps >= 1."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}.")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(
            f"warmup_steps must be between 0 and total_steps={total_steps}, got {warmup_steps}."
        )


def warmup_steps_for(total_steps: int, ratio: float) -> int:
    """Warmup length as a fraction of the run (rounded), e.g. 10% of 1,000 steps = 100."""
    if not 0 <= ratio <= 1:
        raise ValueError(f"warmup ratio must be in [0, 1], got {ratio}.")
    return round(total_steps * ratio)


def make_scheduler(
    optimizer: torch.optim.Optimizer, kind: str, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A warmup schedule from ``transformers``: ``"linear"``, ``"cosine"`` or ``"constant"``."""
    from transformers import (
        get_constant_schedule_with_warmup,
        get_cosine_schedule_with_warmup,
        get_linear_schedule_with_warmup,
    )

    check_schedule_steps(warmup_steps, total_steps)
    if kind == "linear":
        return get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    if kind == "cosine":
        return get_cosine_schedule_with_warmup(optimizer, warmup_steps, total_steps)
    if kind == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup_steps)
    raise ValueError(f"kind must be one of {SCHEDULES}, got {kind!r}.")


def lr_curve(kind: str, warmup_steps: int, total_steps: int, base_lr: float = 1.0) -> list[float]:
    """The learning rate a schedule gives at steps 0..total_steps (for plots and tests)."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheduler = make_scheduler(optimizer, kind, warmup_steps, total_steps)
    rates = []
    for _ in range(total_steps + 1):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates
