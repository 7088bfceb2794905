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
            hint_zh=(
                f"掩码的形状必须是 ({LOCAL_LENGTH}, {LOCAL_LENGTH})，得到的是 {tuple(mask.shape)}。"
            ),
        )
    if mask.dtype != torch.bool:
        return verdict(
            False,
            "",
            "use a boolean tensor (True = may attend), e.g. with a comparison.",
            hint_zh="请用布尔张量（True = 可以关注），例如用一次比较得到。",
        )
    positions = torch.arange(LOCAL_LENGTH)
    expected = (positions[:, None] - positions[None, :]).abs() <= LOCAL_WINDOW
    if torch.equal(mask, ~expected):
        return verdict(
            False,
            "",
            "your mask is inverted: True must mark the keys that may be seen.",
            hint_zh="你的掩码反了：True 必须标出可以看到的键。",
        )
    return verdict(
        torch.equal(mask, expected),
        "your local mask passes.",
        "compare |i − j| with the window for every pair (i, j), e.g. with broadcasting.",
        praise_zh="你的局部掩码通过了。",
        hint_zh="对每一对 (i, j) 比较 |i − j| 与窗口大小，例如借助广播。",
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
                False,
                "",
                f"{layer_class.__name__}({d_model}, {heads}) failed: {problem}",
                hint_zh=f"{layer_class.__name__}({d_model}, {heads}) 失败了：{problem}",
            )
        qkv, out = getattr(layer, "qkv", None), getattr(layer, "out", None)
        if not isinstance(qkv, nn.Linear) or not isinstance(out, nn.Linear):
            return verdict(
                False,
                "",
                "give the layer attributes qkv = nn.Linear(D, 3 * D) and out = nn.Linear(D, D).",
                hint_zh="给这一层加上属性 qkv = nn.Linear(D, 3 * D) 和 out = nn.Linear(D, D)。",
            )
        if qkv.weight.shape != (3 * d_model, d_model) or out.weight.shape != (d_model, d_model):
            return verdict(
                False,
                "",
                f"with D={d_model}, qkv must map D → 3·D and out D → D.",
                hint_zh=f"当 D={d_model} 时，qkv 必须把 D 映射到 3·D，out 把 D 映射到 D。",
            )
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
                False,
                "",
                f"calling the layer on a (2, 5, {d_model}) input failed: {problem}",
                hint_zh=f"在 (2, 5, {d_model}) 的输入上调用这一层失败了：{problem}",
            )
        if isinstance(result, tuple):
            result = result[0]
        if tuple(result.shape) != (2, 5, d_model):
            return verdict(
                False,
                "",
                f"the output must be (B, L, D) = (2, 5, {d_model}); got {tuple(result.shape)}.",
                hint_zh=(
                    f"输出必须是 (B, L, D) = (2, 5, {d_model})；得到的是 {tuple(result.shape)}。"
                ),
            )
        expected = reference(x, x, x, need_weights=False)[0]
        if not torch.allclose(result, expected, atol=1e-5):
            return verdict(
                False,
                "",
                f"with D={d_model} and {heads} heads the output differs from "
                "nn.MultiheadAttention: check the order of q, k, v in the fused output, "
                "the split into heads and the scale.",
                hint_zh=(
                    f"当 D={d_model}、{heads} 个头时，输出与 nn.MultiheadAttention 不同：检查融合"
                    "输出中 q、k、v 的顺序、拆分成多个头的方式以及缩放。"
                ),
            )
    return verdict(
        True,
        "your fused layer matches nn.MultiheadAttention at two sizes.",
        "",
        praise_zh="在两种尺寸上，你的融合层都与 nn.MultiheadAttention 一致。",
    )


def check_attention_distance(distance_fn: Callable | None) -> bool | None:
    """Exercise 3: per head, the mean over queries of Σ_j w_ij·|i − j| for (heads, L, L) weights,
    checked against ``head_statistics`` on random maps and on two maps whose answer is known."""
    from nlpcourse.evaluate.attention_stats import head_statistics

    if unanswered(distance_fn, "write the function attention_distance(weights) and pass it"):
        return None
    torch.manual_seed(0)
    length = 6
    diagonal = torch.eye(length)  # every query looks at itself: distance 0
    previous = torch.eye(length).roll(-1, dims=1)  # query i looks at i + 1, query 5 at 0
    cases = {
        "random maps": torch.rand(3, length, length).softmax(-1),
        "a map looking only at itself": diagonal[None],
        "a map looking one position ahead (the last query at the first)": previous[None],
    }
    names_zh = {
        "random maps": "随机注意力图",
        "a map looking only at itself": "只看自己的注意力图",
        "a map looking one position ahead (the last query at the first)": (
            "只看后一个位置的注意力图（最后一个查询看第一个位置）"
        ),
    }
    for name, weights in cases.items():
        result, problem = _try(lambda w=weights: distance_fn(w.clone()))
        if result is None:
            return verdict(
                False,
                "",
                f"attention_distance failed on {name}: {problem}",
                hint_zh=f"attention_distance 在{names_zh[name]}上失败了：{problem}",
            )
        result = torch.as_tensor(result, dtype=torch.float32)
        if result.shape != (weights.shape[0],):
            return verdict(
                False,
                "",
                f"return one number per head, shape ({weights.shape[0]},); got "
                f"{tuple(result.shape)}.",
                hint_zh=(
                    f"每个头返回一个数，形状为 ({weights.shape[0]},)；得到的是 "
                    f"{tuple(result.shape)}。"
                ),
            )
        keep = torch.ones(1, length, dtype=torch.bool)
        expected = head_statistics(weights[None], keep)["distance"][0]  # (heads,)
        if not torch.allclose(result, expected, atol=1e-5):
            return verdict(
                False,
                "",
                f"on {name} you return {[round(v, 3) for v in result.tolist()]}: weight each "
                "key by |i − j| (an absolute offset), sum over the keys, then average the "
                "queries.",
                hint_zh=(
                    f"在{names_zh[name]}上你返回了 {[round(v, 3) for v in result.tolist()]}：用 |"
                    "i − j|（绝对偏移）给每个键加权，对键求和，再对查询取平均。"
                ),
            )
    return verdict(
        True,
        "your attention distance matches the package's head statistics.",
        "",
        praise_zh="你的注意力距离与本课程包的注意力头统计一致。",
    )
