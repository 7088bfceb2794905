"""LoRA adapters (the ``peft`` library) on a BERT-style classifier, and merging them back."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def add_lora(
    model: nn.Module,
    rank: int = 8,
    alpha: int = 16,
    target_modules: Sequence[str] = ("query", "value"),
    dropout: float = 0.1,
    trainable: Sequence[str] = ("head",),
) -> nn.Module:
    """Wrap ``model`` in LoRA adapters; only the adapters and the ``trainable`` modules learn.

    Each targeted ``nn.Linear`` keeps its frozen weight ``W`` and gains ``B @ A`` (rank
    ``rank``, ``B`` starting at zero) scaled by ``alpha / rank``. The new task head (``head``
    in :class:`~nlpcourse.models.heads.EncoderClassifier`) stays trainable as a whole.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        target_modules=list(target_modules),
        lora_dropout=dropout,
        bias="none",
    )
    wrapped = get_peft_model(model, config)
    base = wrapped.get_base_model()
    for name in trainable:
        for param in base.get_submodule(name).parameters():
            param.requires_grad_(True)
    return wrapped


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The adapters' parameters (``lora_A`` and ``lora_B`` of every wrapped layer)."""
    return [p for name, p in model.named_parameters() if "lora_" in name and p.requires_grad]


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its layer's weight (``W + alpha / r · B @ A``); plain model back."""
    return model.merge_and_unload()
