"""The article's BiLSTM sentiment classifier as a PyTorch module, and its parameter count."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def lstm_parameter_count(input_size: int, hidden_size: int, bias_vectors: int = 2) -> int:
    """Parameters of one LSTM direction: 4 gates, each with input and recurrent weights + biases.

    PyTorch keeps two bias vectors per gate set (``b_ih`` and ``b_hh``); Keras keeps one.
    """
    if min(input_size, hidden_size) < 1 or bias_vectors not in (0, 1, 2):
        raise ValueError(
            "input_size and hidden_size must be positive and bias_vectors 0, 1 (Keras) or 2 "
            f"(PyTorch); got {input_size}, {hidden_size}, {bias_vectors}."
        )
    return 4 * hidden_size * (input_size + hidden_size + bias_vectors)


def bilstm_parameter_count(
    vocab_size: int,
    embed_dim: int = 64,
    hidden_size: int = 64,
    dense_dim: int = 64,
    num_outputs: int = 1,
    bias_vectors: int = 2,
) -> int:
    """Parameters of Embedding → BiLSTM → Dense(relu) → Dense (``bias_vectors=1`` for Keras)."""
    if min(vocab_size, embed_dim, dense_dim, num_outputs) < 1:
        raise ValueError("Every size must be a positive integer.")
    embedding = vocab_size * embed_dim
    lstm = 2 * lstm_parameter_count(embed_dim, hidden_size, bias_vectors)  # two directions
    dense = (2 * hidden_size + 1) * dense_dim
    head = (dense_dim + 1) * num_outputs
    return embedding + lstm + dense + head


class BiLSTMClassifier(nn.Module):
    """Embedding → bidirectional LSTM → Dense(relu) → Dense, returning logits.

    ``forward(ids, lengths)``: with ``packed=True`` and lengths given, the LSTM reads only the
    real tokens (``pack_padded_sequence``), so the last state of each direction is the state
    after the sentence's own last (or first) word. Without packing the LSTM also reads the
    padding, which leaks into both final states.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        hidden_size: int = 64,
        dense_dim: int = 64,
        num_outputs: int = 1,
        pad_id: int = 0,
        packed: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        if min(vocab_size, embed_dim, hidden_size, dense_dim, num_outputs) < 1:
            raise ValueError("Every size of the BiLSTM classifier must be a positive integer.")
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary (0..{vocab_size - 1}).")
        self.packed = packed
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(2 * hidden_size, dense_dim)
        self.head = nn.Linear(dense_dim, num_outputs)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The sentence vector: last forward state and last backward state, concatenated."""
        if ids.ndim != 2:
            raise ValueError(f"ids must be (batch, time), got shape {tuple(ids.shape)}.")
        embedded = self.embedding(ids)  # (batch, time, embed_dim)
        if self.packed and lengths is not None:
            packed = pack_padded_sequence(
                embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, (h_n, _) = self.lstm(packed)  # h_n: (2, batch, hidden)
        else:
            _, (h_n, _) = self.lstm(embedded)  # h_n: (2, batch, hidden)
        return torch.cat([h_n[0], h_n[1]], dim=-1)  # (batch, 2 * hidden)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of shape ``(batch, num_outputs)``."""
        sentence = self.dropout(self.encode(ids, lengths))  # (batch, 2 * hidden)
        hidden = torch.relu(self.dense(sentence))  # (batch, dense_dim)
        return self.head(self.dropout(hidden))  # (batch, num_outputs)
