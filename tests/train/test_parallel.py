"""Data parallelism simulated in one process, the ch10 checks, and the pictures."""

from __future__ import annotations

import pytest
import torch

from nlpcourse.exercises.ch10 import check_effective_batch, check_save_final_model
from nlpcourse.train.parallel import (
    averaged_gradients,
    effective_batch_size,
    plot_data_parallel,
    plot_step_log,
    shard,
    side_by_side,
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


def test_check_effective_batch(capsys):
    assert not check_effective_batch(None)
    times_machines = lambda c, a: (  # noqa: E731
        a["per_device_batch_size"] * c["num_processes"] * c["num_machines"]
        * a["gradient_accumulation_steps"]
    )  # fmt: skip
    assert not check_effective_batch(times_machines)
    assert not check_effective_batch(lambda c, a: 1 / 0)
    right = lambda c, a: effective_batch_size(  # noqa: E731
        a["per_device_batch_size"], c["num_processes"], a["gradient_accumulation_steps"]
    )
    capsys.readouterr()
    assert check_effective_batch(right)
    assert "256" not in capsys.readouterr().out


def test_check_save_final_model():
    assert not check_save_final_model(None)

    def everyone(acc, model, path):
        model.save_pretrained(path)

    def main_without_barrier(acc, model, path):
        if acc.is_main_process:
            model.save_pretrained(path)

    def last_rank(acc, model, path):
        acc.wait_for_everyone()
        if acc.process_index == acc.num_processes - 1:
            model.save_pretrained(path)

    def right(acc, model, path):
        acc.wait_for_everyone()
        if acc.is_main_process:
            acc.unwrap_model(model).save_pretrained(path)

    for wrong in (everyone, main_without_barrier, last_rank):
        assert not check_save_final_model(wrong)
    assert check_save_final_model(right)
