"""Checks for notebook 04 (attention from scratch)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nlpcourse.exercises import unanswered, verdict

LOCAL_LENGTH = 6
LOCAL_WINDOW = 1
FUSED_SIZES = ((16, 4), (24, 3))  # (d_model, num_heads) pairs the fused layer is tried with


def check_local_mask(mask: torch.Tensor | None) -> bool | None:
    """Exercise 1: the (6, 6) boolean mask allowing query i to see key j when |i − j| ≤ 1."""
    if unanswered(mask, "build a (6, 6) boolean tensor, True where attention is allowed"):
        return None
    mask = torch.as_tensor(mask)
    if mask.shape != (LOCAL_LENGTH, LOCAL_LENGTH):
        return verdict(
            False,
            "",
            f"the mask must be ({LOCAL_LENGTH}, {LOCAL_LENGTH}), got {tuple(mask.shape)}.",
        )
    if mask.dtype != torch.bool:
        return verdict(
            False, "", "use a boolean tensor (True = may attend), e.g. with a comparison."
        )
    positions = torch.arange(LOCAL_LENGTH)
    expected = (positions[:, None] - positions[None, :]).abs() <= LOCAL_WINDOW
    if torch.equal(mask, ~expected):
        return verdict(
            False, "", "your mask is inverted: True must mark the keys that may be seen."
        )
    return verdict(
        torch.equal(mask, expected),
        "your local mask passes.",
        "compare |i − j| with the window for every pair (i, j), e.g. with broadcasting.",
    )


def _try(fn: Callable[[], torch.Tensor]) -> tuple[torch.Tensor | None, str]:
    try:
        return fn(), ""
    except Exception as error:  # a student's code may fail in any way
        return None, f"{type(error).__name__}: {error}"


def check_fused_mha(layer_class: type[nn.Module] | None) -> bool | None:
    """Exercise 2: a multi-head attention with one fused (D → 3D) projection matching
    ``nn.MultiheadAttention`` once its weights are copied in."""
    if unanswered(layer_class, "write the class and pass it (the class, not an instance)"):
        return None
    torch.manual_seed(0)
    for d_model, heads in FUSED_SIZES:
        layer, problem = _try(lambda d=d_model, h=heads: layer_class(d, h))
        if layer is None:
            return verdict(
                False, "", f"{layer_class.__name__}({d_model}, {heads}) failed: {problem}"
            )
        qkv, out = getattr(layer, "qkv", None), getattr(layer, "out", None)
        if not isinstance(qkv, nn.Linear) or not isinstance(out, nn.Linear):
            return verdict(
                False,
                "",
                "give the layer attributes qkv = nn.Linear(D, 3 * D) and out = nn.Linear(D, D).",
            )
        if qkv.weight.shape != (3 * d_model, d_model) or out.weight.shape != (d_model, d_model):
            return verdict(False, "", f"with D={d_model}, qkv must map D → 3·D and out D → D.")
        reference = nn.MultiheadAttention(d_model, heads, batch_first=True).eval()
        with torch.no_grad():
            qkv.weight.copy_(reference.in_proj_weight)
            qkv.bias.copy_(reference.in_proj_bias)
            out.load_state_dict(reference.out_proj.state_dict())
        layer.eval()
        x = torch.randn(2, 5, d_model)
        result, problem = _try(lambda layer=layer, x=x: layer(x))
        if result is None:
            return verdict(
                False, "", f"calling the layer on a (2, 5, {d_model}) input failed: {problem}"
            )
        if isinstance(result, tuple):
            result = result[0]
        if tuple(result.shape) != (2, 5, d_model):
            return verdict(
                False,
                "",
                f"the output must be (B, L, D) = (2, 5, {d_model}); got {tuple(result.shape)}.",
            )
        expected = reference(x, x, x, need_weights=False)[0]
        if not torch.allclose(result, expected, atol=1e-5):
            return verdict(
                False,
                "",
                f"with D={d_model} and {heads} heads the output differs from "
                "nn.MultiheadAttention: check the order of q, k, v in the fused output, "
                "the split into heads and the scale.",
            )
    return verdict(True, "your fused layer matches nn.MultiheadAttention at two sizes.", "")


def check_pre_norm_forward(forward: Callable | None) -> bool | None:
    """Exercise 3: the pre-norm forward pass of an ``EncoderBlock``'s parts, checked against
    ``nn.TransformerEncoderLayer(norm_first=True)`` with the same weights."""
    from nlpcourse.models.attention import EncoderBlock

    if unanswered(forward, "write the function pre_norm_forward(block, x, mask) and pass it"):
        return None
    torch.manual_seed(0)
    d_model, heads, ff_dim = 16, 4, 32
    reference = nn.TransformerEncoderLayer(
        d_model, heads, ff_dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    ).eval()
    block = EncoderBlock(d_model, heads, ff_dim, dropout=0.0, norm_first=True).eval()
    block.load_from_torch(reference)
    x = torch.randn(2, 5, d_model)
    keep = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    mask = keep[:, None, None, :]
    with torch.no_grad():
        result, problem = _try(lambda: forward(block, x, mask))
        if result is None:
            return verdict(False, "", f"calling pre_norm_forward(block, x, mask) failed: {problem}")
        if isinstance(result, tuple):
            result = result[0]
        if tuple(result.shape) != tuple(x.shape):
            return verdict(
                False,
                "",
                f"the output must keep x's shape {tuple(x.shape)}; got {tuple(result.shape)}.",
            )
        expected = reference(x, src_key_padding_mask=~keep)
        post = EncoderBlock(d_model, heads, ff_dim, dropout=0.0, norm_first=False).eval()
        post.load_state_dict(block.state_dict())
        post_norm = post(x, mask)[0]
    real = keep[:, :, None].expand_as(x)
    if torch.allclose(result[real], post_norm[real], atol=1e-5):
        return verdict(
            False, "", "that is the post-norm layout: normalise the sublayer's input instead."
        )
    return verdict(
        torch.allclose(result[real], expected[real], atol=1e-5),
        "your pre-norm forward matches nn.TransformerEncoderLayer(norm_first=True).",
        "each sublayer reads norm(x) and its result is added to the untouched x; pass the mask on.",
    )
