"""Notebook 05's strategies: equal mean rate, groups and schedules, and one run of each."""

import math

import pytest
import torch

from nlpcourse.config import get_profile
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train.strategies import (
    REFERENCE,
    STRATEGIES,
    build_model,
    equal_mean_scale,
    make_optimizer,
    make_schedule,
    train_strategy,
)
from tests.tiny_bert import tiny_bert, tiny_news, tiny_tokenizer

CFG = get_profile("quick").finetune


def test_equal_mean_scale_keeps_the_mean_rate():
    scale = equal_mean_scale(0.8, 6)
    rates = [scale * 0.8**k for k in range(1, 8)]
    assert math.isclose(sum(rates) / len(rates), 1.0)
    assert equal_mean_scale(1.0, 6) == 1.0


def test_every_counterpart_exists_and_the_reference_is_one():
    for name, strategy in STRATEGIES.items():
        assert strategy.against is None or strategy.against in STRATEGIES, name
    assert STRATEGIES[REFERENCE].warmup and STRATEGIES[REFERENCE].decay


def test_layer_wise_decay_groups_average_to_the_body_rate():
    body = tiny_bert().bert
    body.pooler = None  # as in the notebook: nothing above the last layer
    model = build_model(body, 3, STRATEGIES["layer-wise decay"], CFG, seed=0)
    optimizer = make_optimizer(model, STRATEGIES["layer-wise decay"], 1e-4, CFG)
    rates = {g["name"].split("/")[0]: g["lr"] for g in optimizer.param_groups}
    assert rates.pop("head") == CFG.head_lr
    assert math.isclose(sum(rates.values()) / len(rates), 1e-4)


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [("differential LR", 1.0, 1.0), ("warmup only", 0.0, 1.0), ("decay only", 1.0, 0.1)],
)
def test_schedules_shape_the_rate(name, first, last):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedule = make_schedule(optimizer, STRATEGIES[name], total_steps=10, cfg=CFG)
    seen = []
    for _ in range(10):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if schedule is not None:
            schedule.step()
    assert math.isclose(seen[0], first) and math.isclose(seen[-1], last)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_each_strategy_trains_on_a_tiny_bert(name):
    tokenizer = tiny_tokenizer()
    data = tokenize_dataset(tiny_news(16), tokenizer, max_len=12)
    batches = list(make_loader(data, tokenizer, batch_size=8, shuffle=True, seed=0))
    _, history = train_strategy(
        tiny_bert().bert,
        STRATEGIES[name],
        batches,
        num_labels=3,
        lr=1e-3,
        cfg=CFG,
        seed=0,
        epochs=1,
        device=torch.device("cpu"),
    )
    assert len(history.steps) == 2 and math.isfinite(history.last("loss"))
