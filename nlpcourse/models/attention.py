"""Attention built by hand: scaled dot-product, masks, multi-head, an encoder block, a classifier.

Conventions (the same as ``torch.nn.functional.scaled_dot_product_attention``):

* tensors are batch-first: queries ``(..., L_q, d_k)``, keys ``(..., L_k, d_k)``, values
  ``(..., L_k, d_v)``; multi-head modules take ``(batch, seq, d_model)``;
* a mask is **boolean, True where a query may attend to a key**, and broadcastable to the score
  shape ``(..., L_q, L_k)``;
* a query row whose keys are *all* masked gets **zero weights and a zero output** (never NaN,
  and its gradients are zero too). PyTorch's fused kernel returns the same zeros.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from nlpcourse.models.pooling import mean_pool

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


def _check_attention_inputs(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None
) -> None:
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        if tensor.ndim < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., seq, width); "
                f"got shape {tuple(tensor.shape)}."
            )
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"query width {query.shape[-1]} differs from key width {key.shape[-1]}: Q·Kᵀ needs "
            f"queries and keys of the same width d_k (project them to a common size first)."
        )
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{key.shape[-2]} keys but {value.shape[-2]} values: every key needs exactly one value."
        )
    if mask is None:
        return
    if mask.dtype != torch.bool:
        raise ValueError(
            f"mask must be boolean (True = may attend), got {mask.dtype}; for a 0/1 attention "
            f"mask use `mask.bool()`, for an additive mask use `mask == 0`."
        )
    scores_shape = (*torch.broadcast_shapes(query.shape[:-2], key.shape[:-2]), *query.shape[-2:-1])
    scores_shape = (*scores_shape, key.shape[-2])
    try:
        broadcast = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != torch.Size(scores_shape):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the attention scores "
            f"(..., L_q, L_k) = {tuple(scores_shape)}; build it with padding_mask() or "
            f"causal_mask()."
        )


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q·Kᵀ·scale + mask)·V; return ``(output, weights)``, scale defaulting to 1/√d_k."""
    _check_attention_inputs(query, key, value, mask)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])  # d_k: the width actually multiplied
    scores = query @ key.transpose(-2, -1) * scale  # (..., L_q, L_k)
    if mask is not None:
        # The most negative finite number, not -inf: a fully masked row then gives a uniform
        # softmax instead of NaN, and the masked_fill below turns it into zeros.
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1)  # (..., L_q, L_k)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # exact zeros, also on fully masked rows
    if dropout_p > 0.0:
        weights = nn.functional.dropout(weights, p=dropout_p)
    return weights @ value, weights  # (..., L_q, d_v), (..., L_q, L_k)


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, L_k) 1/0 (or bool) attention mask → boolean (batch, 1, 1, L_k) key mask."""
    if attention_mask.ndim != 2:
        raise ValueError(
            f"attention_mask must be (batch, seq) with 1 for tokens and 0 for padding; "
            f"got shape {tuple(attention_mask.shape)}."
        )
    return attention_mask.bool()[:, None, None, :]


def causal_mask(
    length: int, key_length: int | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Boolean (L_q, L_k) mask letting query i see keys 0..i (lower triangle, top-left aligned)."""
    key_length = length if key_length is None else key_length
    if length < 1 or key_length < 1:
        raise ValueError(f"lengths must be positive, got {length} and {key_length}.")
    return torch.ones(length, key_length, dtype=torch.bool, device=device).tril()


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(batch, seq, d_model) → (batch, heads, seq, d_model // heads)."""
    batch, seq, width = x.shape
    return x.view(batch, seq, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, seq, d_head) → (batch, seq, heads * d_head)."""
    batch, heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * d_head)


class MultiHeadAttention(nn.Module):
    """Multi-head attention (batch-first) returning the output and per-head weights."""

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model < 1 or num_heads < 1:
            raise ValueError(f"d_model and num_heads must be positive, got {d_model}, {num_heads}.")
        if d_model % num_heads != 0:
            raise ValueError(
                f"num_heads={num_heads} does not divide d_model={d_model}: each head gets "
                f"d_model / num_heads features, so pick a divisor of {d_model}."
            )
        self.d_model, self.num_heads, self.d_head = d_model, num_heads, d_model // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend ``query`` to ``key``/``value`` (default: self-attention); (output, weights)."""
        key = query if key is None else key
        value = key if value is None else value
        for name, tensor in (("query", query), ("key", key), ("value", value)):
            if tensor.ndim != 3 or tensor.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} must be (batch, seq, {self.d_model}); got {tuple(tensor.shape)}."
                )
        q = split_heads(self.q_proj(query), self.num_heads)  # (B, H, L_q, d_head)
        k = split_heads(self.k_proj(key), self.num_heads)  # (B, H, L_k, d_head)
        v = split_heads(self.v_proj(value), self.num_heads)  # (B, H, L_k, d_head)
        if mask is not None and mask.ndim == 2:  # one (L_q, L_k) mask for every batch and head
            mask = mask[None, None]
        dropout_p = self.dropout if self.training else 0.0
        heads, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=dropout_p)
        return self.out_proj(merge_heads(heads)), weights  # (B, L_q, D), (B, H, L_q, L_k)

    @torch.no_grad()
    def load_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` of the same size; return self."""
        if mha.embed_dim != self.d_model or mha.num_heads != self.num_heads:
            raise ValueError(
                f"nn.MultiheadAttention({mha.embed_dim}, {mha.num_heads}) does not match "
                f"MultiHeadAttention({self.d_model}, {self.num_heads})."
            )
        if not mha._qkv_same_embed_dim:
            raise ValueError("Only nn.MultiheadAttention without kdim/vdim can be copied.")
        for proj, weight in zip(
            (self.q_proj, self.k_proj, self.v_proj), mha.in_proj_weight.chunk(3), strict=True
        ):
            proj.weight.copy_(weight)
        if mha.in_proj_bias is not None:
            for proj, bias in zip(
                (self.q_proj, self.k_proj, self.v_proj), mha.in_proj_bias.chunk(3), strict=True
            ):
                proj.bias.copy_(bias)
        self.out_proj.load_state_dict(mha.out_proj.state_dict())
        return self


class EncoderBlock(nn.Module):
    """A Transformer encoder layer: self-attention and a feed-forward net, residuals and norms.

    ``norm_first=False`` is the original (and BERT's) post-norm layout,
    ``x = norm(x + sublayer(x))``; ``norm_first=True`` is the pre-norm layout,
    ``x = x + sublayer(norm(x))``, which trains more easily from scratch.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        ff_dim: int,
        dropout: float = 0.1,
        norm_first: bool = False,
        activation: str = "gelu",
        layer_norm_eps: float = 1e-5,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if ff_dim < 1:
            raise ValueError(f"ff_dim must be positive, got {ff_dim}.")
        self.norm_first = norm_first
        self.attention = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, ff_dim),
            ACTIVATIONS[activation](),
            nn.Linear(ff_dim, d_model),
        )
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, seq, d_model) → same shape, and the attention weights (B, H, L, L)."""
        if self.norm_first:
            attended, weights = self.attention(self.norm1(x), mask=mask)
            x = x + self.dropout(attended)
            x = x + self.dropout(self.feed_forward(self.norm2(x)))
        else:
            attended, weights = self.attention(x, mask=mask)
            x = self.norm1(x + self.dropout(attended))
            x = self.norm2(x + self.dropout(self.feed_forward(x)))
        return x, weights

    @torch.no_grad()
    def load_from_torch(self, layer: nn.TransformerEncoderLayer) -> EncoderBlock:
        """Copy the weights of an ``nn.TransformerEncoderLayer`` of the same shape; return self."""
        if layer.norm_first != self.norm_first:
            raise ValueError(
                f"layer has norm_first={layer.norm_first} but this block norm_first="
                f"{self.norm_first}: the two layouts compute different functions."
            )
        if layer.linear1.out_features != self.feed_forward[0].out_features:
            raise ValueError(
                f"feed-forward width {layer.linear1.out_features} differs from this block's "
                f"{self.feed_forward[0].out_features}."
            )
        activation = layer.activation
        name = getattr(activation, "__name__", type(activation).__name__).lower()
        if type(self.feed_forward[1]).__name__.lower() not in name:
            raise ValueError(
                f"layer uses activation {name!r}, this block {type(self.feed_forward[1]).__name__}."
            )
        self.attention.load_from_torch(layer.self_attn)
        self.feed_forward[0].load_state_dict(layer.linear1.state_dict())
        self.feed_forward[2].load_state_dict(layer.linear2.state_dict())
        self.norm1.load_state_dict(layer.norm1.state_dict())
        self.norm2.load_state_dict(layer.norm2.state_dict())
        return self


def sinusoidal_positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The fixed (max_len, d_model) table PE[p, 2i] = sin(p/10000^(2i/d)), PE[p, 2i+1] = cos."""
    if max_len < 1 or d_model < 2 or d_model % 2:
        raise ValueError(
            f"need max_len >= 1 and an even d_model >= 2, got max_len={max_len}, d_model={d_model}."
        )
    positions = torch.arange(max_len, dtype=torch.float32)[:, None]  # (L, 1)
    frequencies = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10_000.0) / d_model)
    )  # (d/2,)
    table = torch.zeros(max_len, d_model)  # (L, d)
    table[:, 0::2] = torch.sin(positions * frequencies)
    table[:, 1::2] = torch.cos(positions * frequencies)
    return table


class TransformerClassifier(nn.Module):
    """Token embeddings + sinusoidal positions → pre-norm encoder blocks → masked mean → logits.

    Called as ``model(token_ids)`` or ``model(token_ids, lengths)``; token id ``pad_id`` marks
    padding, which no query attends to and the mean pooling skips; ``lengths``, when given,
    says the same. ``num_classes=1`` gives one logit per text (binary cross-entropy, like the
    article's ``Dense(1, sigmoid)``).
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int = 1,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        ff_dim: int = 128,
        max_len: int = 512,
        dropout: float = 0.1,
        pad_id: int = 0,
    ):
        super().__init__()
        if vocab_size < 1 or num_classes < 1 or num_layers < 1:
            raise ValueError(
                f"vocab_size, num_classes and num_layers must be positive; got {vocab_size}, "
                f"{num_classes}, {num_layers}."
            )
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is not a token id below vocab_size={vocab_size}.")
        self.pad_id, self.max_len, self.d_model = pad_id, max_len, d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        with torch.no_grad():  # std 1/√D, so that the √D-scaled embeddings have unit scale
            nn.init.normal_(self.embedding.weight, std=d_model**-0.5)
            self.embedding.weight[pad_id].zero_()
        self.register_buffer(
            "positions", sinusoidal_positional_encoding(max_len, d_model), persistent=False
        )
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, num_heads, ff_dim, dropout, norm_first=True)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, seq) token ids (and optional lengths) → (batch, num_classes) logits."""
        return self._run(token_ids, lengths)[0]

    @torch.no_grad()
    def attention_maps(
        self, token_ids: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The attention weights of every block, a list of (batch, heads, L, L) tensors."""
        return self._run(token_ids, lengths)[1]

    def _run(
        self, token_ids: torch.Tensor, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if token_ids.ndim != 2:
            raise ValueError(f"token_ids must be (batch, seq), got {tuple(token_ids.shape)}.")
        seq = token_ids.shape[1]
        if seq > self.max_len:
            raise ValueError(
                f"sequences of {seq} tokens exceed max_len={self.max_len}: truncate them or "
                f"build the model with a larger max_len."
            )
        if lengths is None:
            keep = token_ids != self.pad_id  # (B, L)
        else:
            positions = torch.arange(seq, device=token_ids.device)  # (L,)
            keep = positions[None, :] < lengths.to(token_ids.device)[:, None]  # (B, L)
        x = self.embedding(token_ids) * math.sqrt(self.d_model)  # (B, L, D)
        x = self.dropout(x + self.positions[:seq])  # (B, L, D)
        mask = padding_mask(keep)  # (B, 1, 1, L)
        maps = []
        for block in self.blocks:
            x, weights = block(x, mask)  # (B, L, D), (B, H, L, L)
            maps.append(weights)
        x = self.norm(x)  # (B, L, D)
        pooled = mean_pool(x, keep)  # (B, D): the average over the real tokens
        return self.head(pooled), maps  # (B, C), num_layers × (B, H, L, L)


def classifier_parameter_count(
    vocab_size: int,
    num_classes: int = 1,
    d_model: int = 64,
    num_layers: int = 2,
    ff_dim: int = 128,
) -> int:
    """The parameters of :class:`TransformerClassifier`, by formula (the positions are fixed)."""
    embedding = vocab_size * d_model
    attention = 4 * (d_model * d_model + d_model)  # Q, K, V and output projections
    feed_forward = d_model * ff_dim + ff_dim + ff_dim * d_model + d_model
    norms = 2 * 2 * d_model  # two LayerNorms (scale and shift) per block
    final_norm = 2 * d_model
    head = d_model * num_classes + num_classes
    return embedding + num_layers * (attention + feed_forward + norms) + final_norm + head
