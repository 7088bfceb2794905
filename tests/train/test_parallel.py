"""Data parallelism simulated in one process, the step arithmetic, snippets, the pictures."""

from __future__ import annotations

import pytest
import torch

from nlpcourse.train.parallel import (
    averaged_gradients,
    effective_batch_size,
    plot_data_parallel,
    plot_step_log,
    run_snippet,
    shard,
    side_by_side,
    steps_per_epoch,
)
from tests.tiny_bert import tiny_bert


def _batch(rows: int = 8) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "input_ids": torch.randint(5, 20, (rows, 6), generator=generator),
        "attention_mask": torch.ones(rows, 6, dtype=torch.long),
        "labels": torch.arange(rows) % 3,
    }


def _loss(model, batch):
    return model(**batch).loss


def test_averaged_shard_gradients_equal_the_whole_batch_gradient():
    model, batch = tiny_bert(), _batch()
    model.zero_grad()
    _loss(model, batch).backward()
    whole = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    for processes in (2, 4):
        averaged = averaged_gradients(model, batch, processes, _loss)
        assert averaged.keys() == whole.keys()
        torch.testing.assert_close(averaged, whole, rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_shard_is_contiguous_and_checked():
    batch = _batch(6)
    parts = [shard(batch, 3, rank)["labels"] for rank in range(3)]
    assert torch.equal(torch.cat(parts), batch["labels"])
    with pytest.raises(ValueError, match="evenly"):
        shard(batch, 4, 0)
    with pytest.raises(ValueError, match="rank"):
        shard(batch, 2, 2)


def test_effective_batch_size():
    assert effective_batch_size(8, 2, 2) == 32
    assert effective_batch_size(32, 8) == 256
    with pytest.raises(ValueError, match="processes"):
        effective_batch_size(8, 0)


def test_pictures_and_side_by_side():
    import matplotlib.pyplot as plt

    plt.close(plot_data_parallel(2, 2, 8))
    log = [{"step": i, "loss": 1.0 / i, "lr": [i * 1e-5, i * 1e-3]} for i in (1, 2, 3)]
    plt.close(plot_step_log(log))
    with pytest.raises(ValueError, match="empty"):
        plot_step_log([])
    html = side_by_side("a = 1\nb = 2", "a = 1\nc = <3>\nb = 2").data
    assert "&lt;3&gt;" in html and html.count("#d4f7d4") == 1


def test_steps_per_epoch():
    assert steps_per_epoch(480, 8, 2, 2) == 15
    assert steps_per_epoch(100, 8, 2, 2) == 4  # 7 micro-batches per process, the last window short
    assert steps_per_epoch(7, 4, 2) == 1  # 1 micro-batch per process, the second one padded
    with pytest.raises(ValueError, match="accumulation"):
        steps_per_epoch(10, 2, 1, 0)


def test_run_snippet_records_the_rates_of_real_steps():
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    code = """
for i in range(4):
    model(torch.ones(1, 2)).sum().backward()
    if i % 2 == 1:
        optimizer.step()
        optimizer.zero_grad()
    scheduler.step()  # every micro-batch: the trap
"""
    with pytest.warns(UserWarning, match="lr_scheduler.step"):  # torch sees the trap too
        names, rates = run_snippet(code, optimizer, model=model, scheduler=scheduler, torch=torch)
    assert rates == [[0.5], [0.25]]
    assert names["i"] == 3
    assert not optimizer._optimizer_step_pre_hooks, "the recording hook is removed"
