"""Sentence embeddings from a BERT-style encoder: [CLS], pooler and mask-aware mean pooling."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from nlpcourse.text.hf_batches import tokenized_batches


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
    for batch in tokenized_batches(texts, tokenizer, batch_size, max_len, device):
        hidden = model(**batch).last_hidden_state  # (B, T, H)
        pooled = (
            mean_pool(hidden, batch["attention_mask"]) if pooling == "mean" else cls_pool(hidden)
        )
        chunks.append(pooled.float().cpu())
    embeddings = torch.cat(chunks)  # (N, H)
    return torch.nn.functional.normalize(embeddings, dim=-1) if normalize else embeddings


def topic_cosines(
    vectors: torch.Tensor, labels: Sequence[int] | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarity of every pair of distinct rows: (same-label pairs, different-label)."""
    labels = torch.as_tensor(labels)
    if vectors.ndim != 2 or labels.shape != vectors.shape[:1]:
        raise ValueError(
            f"expected (N, H) vectors and N labels, got {tuple(vectors.shape)} and "
            f"{tuple(labels.shape)}."
        )
    if len(labels) < 2:
        raise ValueError("topic_cosines needs at least two rows to form a pair.")
    unit = torch.nn.functional.normalize(vectors.float(), dim=-1)  # (N, H)
    cosine = unit @ unit.T  # (N, N)
    upper = torch.triu(torch.ones_like(cosine, dtype=torch.bool), diagonal=1)  # each pair once
    same = labels[:, None] == labels[None, :]  # (N, N)
    return cosine[upper & same], cosine[upper & ~same]


@contextmanager
def capture_inputs(module: torch.nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record the first input of every call to ``module`` (detached, on the CPU) in a list.

    ``with capture_inputs(model.head) as pooled: predict(...)`` keeps the sentence vectors a
    head was given; the hook is removed on leaving the block.
    """
    seen: list[torch.Tensor] = []

    def hook(_module: torch.nn.Module, inputs: tuple) -> None:
        seen.append(inputs[0].detach().float().cpu())

    handle = module.register_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()
