"""Sentence embeddings from a BERT-style encoder: [CLS], pooler and mask-aware mean pooling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each sequence, ignoring padding positions."""
    if last_hidden_state.ndim != 3:
        raise ValueError(f"expected (batch, seq, hidden), got {tuple(last_hidden_state.shape)}")
    if attention_mask.shape != last_hidden_state.shape[:2]:
        raise ValueError(
            f"attention_mask {tuple(attention_mask.shape)} does not match the hidden states' "
            f"(batch, seq) = {tuple(last_hidden_state.shape[:2])}"
        )
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)  # (B, T, 1)
    summed = (last_hidden_state * mask).sum(dim=1)  # (B, H)
    counts = mask.sum(dim=1).clamp(min=1.0)  # (B, 1): an all-padding row gives zeros, not NaN
    return summed / counts


def cls_pool(last_hidden_state: torch.Tensor) -> torch.Tensor:
    """The vector at position 0 (the ``[CLS]`` token)."""
    return last_hidden_state[:, 0]  # (B, H)


@torch.no_grad()
def encode(
    texts: Sequence[str],
    model: Any,
    tokenizer: Any,
    batch_size: int = 64,
    max_len: int = 128,
    pooling: str = "mean",
    normalize: bool = True,
) -> torch.Tensor:
    """Embed ``texts`` with ``model`` (a ``BertModel``-like encoder) in batches: (N, hidden)."""
    if len(texts) == 0:
        raise ValueError("encode() needs at least one text.")
    if pooling not in {"mean", "cls"}:
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}.")
    model.eval()
    device = next(model.parameters()).device
    chunks = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            list(texts[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_len,
            return_tensors="pt",
        ).to(device)
        hidden = model(**batch).last_hidden_state  # (B, T, H)
        pooled = (
            mean_pool(hidden, batch["attention_mask"]) if pooling == "mean" else cls_pool(hidden)
        )
        chunks.append(pooled.float().cpu())
    embeddings = torch.cat(chunks)  # (N, H)
    return torch.nn.functional.normalize(embeddings, dim=-1) if normalize else embeddings
