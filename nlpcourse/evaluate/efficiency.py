"""Parameter counting (by component, and by formula for BERT and ALBERT) and forward timing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from nlpcourse.evaluate.timing import compare_seconds, median_seconds

# Where each BERT/ALBERT parameter belongs, first match wins (names as in transformers 5).
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("word_embeddings", "token embeddings"),
    ("embeddings.", "position/type embeddings + LayerNorm"),
    ("embedding_hidden_mapping_in", "embedding projection E→H"),
    ("encoder.", "transformer layers"),
    ("pooler", "pooler"),
    ("classifier", "classifier head"),
)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """How many parameters ``model`` holds (shared tensors once; optionally trainable only)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def component_of(name: str) -> str:
    """The component (see ``COMPONENTS``) a parameter name belongs to, else ``"other"``."""
    for pattern, component in COMPONENTS:
        if pattern in name:
            return component
    return "other"


def parameters_by_component(model: nn.Module) -> dict[str, int]:
    """Parameter counts of a BERT-family model grouped by component, in model order."""
    counts: dict[str, int] = {}
    for name, parameter in model.named_parameters():  # shared tensors are listed once
        component = component_of(name)
        counts[component] = counts.get(component, 0) + parameter.numel()
    return counts


def _require(config: Any, *names: str) -> None:
    missing = [name for name in names if not hasattr(config, name)]
    if missing:
        raise ValueError(
            f"{type(config).__name__} lacks {', '.join(missing)}: "
            "pass a BertConfig or an AlbertConfig."
        )


def transformer_layer_parameters(hidden: int, intermediate: int) -> int:
    """One encoder layer: Q, K, V, output (4·(H²+H)), two LayerNorms (4H), FFN (2HI + I + H)."""
    if hidden < 1 or intermediate < 1:
        raise ValueError(
            f"sizes must be positive, got hidden={hidden}, intermediate={intermediate}"
        )
    attention = 4 * (hidden * hidden + hidden)
    feed_forward = hidden * intermediate + intermediate + intermediate * hidden + hidden
    layer_norms = 2 * 2 * hidden
    return attention + feed_forward + layer_norms


def bert_parameter_count(config: Any, pooler: bool = True) -> int:
    """Parameters of ``BertModel(config)`` by formula: (V+P+T)·H + 2H + L·layer + pooler."""
    _require(config, "vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size")
    h = config.hidden_size
    embeddings = (
        config.vocab_size + config.max_position_embeddings + config.type_vocab_size
    ) * h + 2 * h
    layers = config.num_hidden_layers * transformer_layer_parameters(h, config.intermediate_size)
    return embeddings + layers + ((h * h + h) if pooler else 0)


def albert_parameter_count(config: Any, pooler: bool = True) -> int:
    """Parameters of ``AlbertModel(config)``: (V+P+T)·E + 2E + (E·H + H) + G·layer + pooler.

    ALBERT's layers are shared: only ``num_hidden_groups × inner_group_num`` distinct layers
    exist however deep the model is, so ``num_hidden_layers`` does not appear in the formula.
    """
    _require(config, "vocab_size", "embedding_size", "hidden_size", "num_hidden_groups")
    e, h = config.embedding_size, config.hidden_size
    embeddings = (
        config.vocab_size + config.max_position_embeddings + config.type_vocab_size
    ) * e + 2 * e
    projection = e * h + h
    distinct_layers = config.num_hidden_groups * config.inner_group_num
    layers = distinct_layers * transformer_layer_parameters(h, config.intermediate_size)
    return embeddings + projection + layers + ((h * h + h) if pooler else 0)


@torch.inference_mode()
def forward_seconds(
    model: nn.Module, inputs: Mapping[str, torch.Tensor], repeats: int = 3, warmup: int = 1
) -> float:
    """Median wall-clock seconds of ``model(**inputs)`` over ``repeats`` runs (eval mode)."""
    model.eval()
    return median_seconds(lambda: model(**inputs), repeats, warmup)


def compare_forward_seconds(
    models: Mapping[str, nn.Module],
    inputs: Mapping[str, torch.Tensor],
    repeats: int = 3,
    warmup: int = 1,
) -> dict[str, float]:
    """Median forward seconds of each model, timed in turns so that load drifts hit all alike."""
    if not models:
        raise ValueError("give at least one model to time.")
    for model in models.values():
        model.eval()

    def forward(model: nn.Module) -> Callable[[], Any]:
        return torch.inference_mode()(lambda: model(**inputs))

    return compare_seconds({name: forward(m) for name, m in models.items()}, repeats, warmup)


# --- Memory to train: weights, gradients, AdamW's two moments ---------------------------------


def meta_model(model_class: Any, config: Any) -> nn.Module:
    """``model_class(config)`` on PyTorch's meta device: shapes and dtypes, no memory, no time."""
    with torch.device("meta"):
        return model_class(config)


def training_memory_bytes(model: nn.Module) -> dict[str, int]:
    """Bytes that training ``model`` with AdamW holds besides activations, by kind.

    ``weights`` (every parameter), ``gradients`` (one per trainable parameter), ``adamw_state``
    (``exp_avg`` and ``exp_avg_sq`` per trainable parameter, in its dtype, plus one float32
    ``step`` per tensor). Shared parameters count once, so ALBERT's shared layer is paid for
    once in every column. Works on meta-device models (see :func:`meta_model`).
    """
    weights = gradients = state = 0
    for parameter in model.parameters():  # each shared tensor once
        size = parameter.numel() * parameter.element_size()
        weights += size
        if parameter.requires_grad:
            gradients += size
            state += 2 * size + 4  # two moments and the step counter
    return {
        "weights": weights,
        "gradients": gradients,
        "adamw_state": state,
        "total": weights + gradients + state,
    }


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of every tensor an optimizer holds in its state (measured, after a step)."""
    return sum(
        value.numel() * value.element_size()
        for state in optimizer.state.values()
        for value in state.values()
        if isinstance(value, torch.Tensor)
    )


# --- Post-training dynamic int8 quantization -------------------------------------------------


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers hold int8 weights (CPU inference only).

    ``torch.ao.quantization.quantize_dynamic``: weights are quantized once, per tensor;
    activations are quantized on the fly at each call. Embeddings and LayerNorms stay float.
    The original model is not modified.
    """
    import copy
    import warnings

    quantized = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return torch.ao.quantization.quantize_dynamic(quantized, {nn.Linear}, dtype=torch.qint8)


def quantize_int8_torchao(model: nn.Module) -> nn.Module:
    """A copy of ``model`` quantized by ``torchao`` (int8 dynamic activations, int8 weights).

    The maintained successor of :func:`quantize_dynamic_int8`:
    ``torchao.quantization.quantize_(model, Int8DynamicActivationInt8WeightConfig())``. Importing
    torchao logs a warning for each optional GPU kernel library it cannot load; those are
    silenced here. The original model is not modified.
    """
    import copy
    import logging

    log = logging.getLogger("torchao")
    level = log.level
    log.setLevel(logging.ERROR)  # "Failed to load ..._C_mxfp8...": GPU kernels absent on a CPU
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    finally:
        log.setLevel(level)
    quantized = copy.deepcopy(model).cpu().eval()
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    return quantized


def saved_size_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the size of the weights on disk."""
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def count_linear_layers(model: nn.Module) -> dict[str, int]:
    """How many float and int8 linear layers ``model`` holds (torch.ao's or torchao's int8)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    def int8_weight(module: nn.Module) -> bool:  # torchao: an nn.Linear with int8 ``qdata``
        qdata = getattr(getattr(module, "weight", None), "qdata", None)
        return isinstance(qdata, torch.Tensor) and qdata.dtype == torch.int8

    modules = list(model.modules())
    return {
        "float": sum(type(m) is nn.Linear and not int8_weight(m) for m in modules),
        "int8": sum(isinstance(m, DynamicLinear) or int8_weight(m) for m in modules),
    }
