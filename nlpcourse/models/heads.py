"""Task heads on a BERT-style encoder: a pooled sentence vector, dropout and a linear layer."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nlpcourse.models.pooling import cls_pool, mean_pool

POOLINGS = ("cls", "mean", "pooler")


class EncoderClassifier(nn.Module):
    """An encoder, a pooling of its last layer (``cls``, ``mean`` or ``pooler``) and a head.

    ``num_outputs`` logits for classification (cross-entropy) or one number for regression
    (mean squared error). The encoder sits in ``.bert`` and the head in ``.head``, so parameter
    groups and freezing prefixes read ``"bert..."`` and ``"head"``.
    """

    def __init__(self, encoder: Any, num_outputs: int, pooling: str = "mean") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        if num_outputs < 1:
            raise ValueError(f"num_outputs must be at least 1, got {num_outputs}.")
        if pooling == "pooler" and getattr(encoder, "pooler", None) is None:
            raise ValueError("pooling='pooler' needs an encoder with a pooler (it has none).")
        self.bert, self.pooling = encoder, pooling
        self.dropout = nn.Dropout(encoder.config.hidden_dropout_prob)
        self.head = nn.Linear(encoder.config.hidden_size, num_outputs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (B, num_outputs) of a padded batch."""
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        if self.pooling == "cls":
            pooled = cls_pool(out.last_hidden_state)  # (B, H)
        elif self.pooling == "pooler":
            pooled = out.pooler_output  # (B, H)
        else:
            pooled = mean_pool(out.last_hidden_state, attention_mask)  # (B, H)
        return self.head(self.dropout(pooled))  # (B, num_outputs)
