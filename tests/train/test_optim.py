import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nlpcourse.evaluate.efficiency import count_parameters
from nlpcourse.train.optim import (
    bert_freeze_prefixes,
    describe_groups,
    freeze,
    layer_depth,
    lr_curve,
    make_scheduler,
    no_decay_names,
    param_groups,
    warmup_steps_for,
)
from tests.tiny_bert import tiny_bert


def ids_by_group(groups):
    return [{id(p) for p in group["params"]} for group in groups]


def test_every_trainable_parameter_is_in_exactly_one_group():
    model = tiny_bert()
    groups = param_groups(model, body_lr=2e-5, head_lr=1e-3, head=("classifier",))
    seen = [pid for group in ids_by_group(groups) for pid in group]
    assert len(seen) == len(set(seen))
    assert set(seen) == {id(p) for p in model.parameters()}
    names = {group["name"] for group in groups}
    assert names == {"body/decay", "body/no_decay", "head/decay", "head/no_decay"}


def test_no_decay_set_is_biases_and_layernorm_weights():
    model = tiny_bert()
    expected = {n for n, _ in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n}
    assert no_decay_names(model) == expected
    by_id = {id(p): n for n, p in model.named_parameters()}
    for group in param_groups(model, 2e-5, 1e-3, weight_decay=0.01):
        names = {by_id[id(p)] for p in group["params"]}
        if group["name"].endswith("no_decay"):
            assert names <= expected and group["weight_decay"] == 0.0
        else:
            assert not names & expected and group["weight_decay"] == 0.01


def test_head_and_body_rates_and_adamw_accepts_the_groups():
    model = tiny_bert()
    groups = param_groups(model, 2e-5, 1e-3, head=("classifier", "bert.pooler"))
    optimizer = torch.optim.AdamW(groups)
    table = describe_groups(optimizer)
    assert table.loc["head/decay", "lr"] == 1e-3
    assert table.loc["body/decay", "lr"] == 2e-5
    assert table["parameters"].sum() == count_parameters(model)
    head_params = sum(p.numel() for n, p in model.named_parameters() if "pooler" in n)
    head_params += sum(p.numel() for p in model.classifier.parameters())
    assert table.loc[["head/decay", "head/no_decay"], "parameters"].sum() == head_params


def test_frozen_parameters_are_left_out():
    model = tiny_bert()
    frozen = freeze(model, bert_freeze_prefixes("bert", embeddings=True, layers=1))
    assert frozen == sum(
        p.numel()
        for n, p in model.named_parameters()
        if n.startswith(("bert.embeddings", "bert.encoder.layer.0."))
    )
    groups = param_groups(model, 1e-4)
    in_groups = sum(p.numel() for g in groups for p in g["params"])
    assert in_groups == count_parameters(model, trainable_only=True)
    assert in_groups == count_parameters(model) - frozen


def test_layerwise_decay_rates():
    model = tiny_bert()  # 2 layers: embeddings depth 0, layers 1-2, pooler 3
    groups = param_groups(model, 1.0, head_lr=10.0, layer_decay=0.5)
    rates = {g["name"].split("/")[0]: g["lr"] for g in groups}
    assert rates == {"embeddings": 0.125, "layer_00": 0.25, "layer_01": 0.5, "top": 1.0, "head": 10}
    assert layer_depth("bert.encoder.layer.1.output.dense.weight", 2) == 2
    assert layer_depth("bert.embeddings.word_embeddings.weight", 2) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"head": ("decoder",)}, "head prefix"),
        ({"body_lr": 0.0}, "learning rates must be positive"),
        ({"layer_decay": 1.5}, "layer_decay"),
        ({"weight_decay": -1.0}, "weight_decay"),
    ],
)
def test_bad_group_arguments(kwargs, message):
    arguments = {"body_lr": 1e-3, **kwargs}
    with pytest.raises(ValueError, match=message):
        param_groups(tiny_bert(), **arguments)


def test_all_frozen_and_bad_freeze_prefix():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="nothing to freeze"):
        freeze(model, ["encoder"])
    freeze(model, ["weight", "bias"])
    with pytest.raises(ValueError, match="no trainable parameters"):
        param_groups(model, 1e-3, head=())


def test_linear_schedule_values():
    rates = lr_curve("linear", warmup_steps=100, total_steps=1000, base_lr=2e-5)
    assert rates[0] == 0.0
    assert rates[50] == pytest.approx(1e-5)
    assert rates[100] == pytest.approx(2e-5)  # end of warmup: the full rate
    assert rates[550] == pytest.approx(1e-5)
    assert rates[1000] == 0.0  # last step: decayed to zero


def test_cosine_and_constant_schedule_values():
    cosine = lr_curve("cosine", 100, 1000)
    assert cosine[0] == 0.0 and cosine[100] == pytest.approx(1.0)
    assert cosine[550] == pytest.approx(0.5) and cosine[1000] == pytest.approx(0.0, abs=1e-12)
    constant = lr_curve("constant", 100, 1000)
    assert constant[0] == 0.0 and constant[100] == 1.0 and constant[1000] == 1.0


def test_scheduler_steps_every_group():
    model = tiny_bert()
    optimizer = torch.optim.AdamW(param_groups(model, 2e-5, 1e-3))
    scheduler = make_scheduler(optimizer, "linear", 10, 100)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert {g["lr"] for g in optimizer.param_groups} == {2e-5, 1e-3}


@given(
    total=st.integers(min_value=1, max_value=300),
    fraction=st.floats(min_value=0.0, max_value=1.0),
)
@settings(max_examples=30, deadline=None)
def test_linear_schedule_rises_then_falls(total, fraction):
    warmup = min(warmup_steps_for(total, fraction), total - 1)  # at least one decay step
    rates = lr_curve("linear", warmup, total)
    assert all(a <= b for a, b in itertools.pairwise(rates[: warmup + 1]))
    assert all(a >= b for a, b in itertools.pairwise(rates[warmup:]))
    assert math.isclose(rates[warmup], 1.0) and max(rates) <= 1.0 and rates[-1] == 0.0


@pytest.mark.parametrize(
    ("kind", "warmup", "total", "message"),
    [
        ("linear", 10, 0, "total_steps"),
        ("linear", 20, 10, "warmup_steps"),
        ("linear", -1, 10, "warmup_steps"),
        ("exponential", 1, 10, "kind must be one of"),
    ],
)
def test_bad_schedules(kind, warmup, total, message):
    with pytest.raises(ValueError, match=message):
        lr_curve(kind, warmup, total)


def test_warmup_steps_for():
    assert warmup_steps_for(1000, 0.1) == 100
    with pytest.raises(ValueError, match="ratio"):
        warmup_steps_for(10, 1.5)
