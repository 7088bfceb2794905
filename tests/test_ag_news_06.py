"""Notebook 06's package pieces: accumulation with a short last micro-batch, fp16 + scaler on
CPU, per-step logging as the notebook reads it, peak memory, the model card, exercise 3."""

import pytest
import torch
from torch import nn

from nlpcourse.config import get_profile, seed_everything
from nlpcourse.evaluate.memory import peak_memory, rss_peak_supported
from nlpcourse.exercises.ch06 import check_training_loop
from nlpcourse.modelcard import CARD_NAME, ModelCard, hardware_summary, write_model_card
from nlpcourse.train.loop import fit


def rows(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    return x, (x[:, 0] > x[:, 1]).long()


def chunks(x, y, size):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def test_accumulation_with_a_short_last_micro_batch_matches_one_big_batch():
    x, y = rows(20)  # micro-batches of 8, 8 and 4: the last one is short
    seed_everything(0)
    big, small = nn.Linear(4, 2), nn.Linear(4, 2)
    small.load_state_dict(big.state_dict())
    for model, batches, steps in ((big, [(x, y)], 1), (small, chunks(x, y, 8), 3)):
        fit(
            model,
            batches,
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), 0.5),
            accumulation_steps=steps,
            progress=False,
        )
    torch.testing.assert_close(small.weight, big.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(small.bias, big.bias, atol=1e-6, rtol=0)


def test_per_step_log_of_an_accumulated_run():
    x, y = rows(20)
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.5, total_iters=2)
    history = fit(
        model,
        chunks(x, y, 4),  # 5 micro-batches: windows of 2, 2 and 1
        epochs=1,
        optimizer=optimizer,
        scheduler=scheduler,
        accumulation_steps=2,
        progress=False,
    )
    epochs, losses = history.step_values("loss")
    assert epochs == pytest.approx([0.4, 0.8, 1.0]) and len(losses) == 3
    assert history.step_values("lr")[1] == pytest.approx([0.1, 0.075, 0.05])
    assert all(row["grad_norm"] > 0 for row in history.steps)


def test_fp16_autocast_with_a_grad_scaler_steps_on_cpu(monkeypatch):
    made = []
    real = torch.amp.GradScaler

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(torch.amp, "GradScaler", spy)
    x, y = rows(64)
    seed_everything(0)
    model = nn.Linear(4, 2)
    before = model.weight.detach().clone()
    history = fit(
        model,
        chunks(x, y, 16),
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), 0.5),
        amp_dtype=torch.float16,
        grad_clip=1.0,
        progress=False,
    )
    assert made and made[0].is_enabled()  # the scaler is on for fp16 on a CPU too
    assert not torch.equal(model.weight, before)  # steps were taken (not all skipped)
    assert model.weight.dtype == torch.float32  # master weights stay in float32
    assert all(torch.isfinite(torch.tensor(row["grad_norm"])) for row in history.steps[-2:])


def tiny_gradient(dtype, scaler=None):
    """The gradient reaching a weight through an activation of ``dtype`` when it is 1e-8."""
    weight = nn.Parameter(torch.ones(()))
    loss = weight.to(dtype).float() * 1e-8  # the gradient passes the cast back in ``dtype``
    (scaler.scale(loss) if scaler else loss).backward()
    if scaler:
        scaler.unscale_(torch.optim.SGD([weight], 1.0))
    return weight.grad.item()


def test_the_scaler_keeps_a_tiny_gradient_that_fp16_flushes_to_zero():
    assert tiny_gradient(torch.float16) == 0.0  # underflow: below fp16's smallest subnormal
    assert tiny_gradient(torch.bfloat16) == pytest.approx(1e-8, rel=1e-2)  # float32's range
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    assert tiny_gradient(torch.float16, scaler) == pytest.approx(1e-8, rel=1e-2)


def test_peak_memory_sees_a_large_allocation():
    result = peak_memory(lambda: 7)
    assert result.result == 7 and result.seconds >= 0
    if not rss_peak_supported():
        pytest.skip("no /proc/self peak RSS here")
    big = peak_memory(lambda: torch.ones(64 * 2**20 // 4).sum())  # 64 MiB of float32
    assert big.peak_mib > 32


def test_model_card_is_written_next_to_the_checkpoint(tmp_path):
    card = ModelCard(
        title="AG News classifier",
        base_model="tiny-bert",
        data="AG News",
        splits={"train": 10, "validation": 5, "test": 5},
        metrics={"accuracy": "0.90 [0.80, 0.95]"},
        limits=["English news only"],
        hardware=hardware_summary(),
        date="2026-01-01",
    )
    path = write_model_card(tmp_path, card)
    text = path.read_text()
    assert path.name == CARD_NAME
    assert "| accuracy | 0.90 [0.80, 0.95] |" in text and "English news only" in text
    assert "test 5 rows" in text and "2026-01-01" in text and "torch" in text
    with pytest.raises(FileNotFoundError, match="Save the model first"):
        write_model_card(tmp_path / "missing", card)
    with pytest.raises(ValueError, match="at least one metric"):
        ModelCard("t", "m", "d", {}, {}).to_markdown()


def _loop(share=True, unscale=True, zero=True, autocast=True):
    """A training loop with one of the usual slips switched on."""

    def train_loop(model, batches, optimizer, accumulation_steps, grad_clip):
        scaler = torch.amp.GradScaler("cpu")
        model.train()
        optimizer.zero_grad(set_to_none=True)
        for start in range(0, len(batches), accumulation_steps):
            window = batches[start : start + accumulation_steps]
            rows = sum(len(y) for _, y in window)
            for x, y in window:
                with torch.autocast("cpu", dtype=torch.float16, enabled=autocast):
                    logits = model(x)
                loss = nn.functional.cross_entropy(logits.float(), y)
                weight = len(y) / rows if share else 1 / len(window)
                scaler.scale(loss * weight).backward()
            if unscale:
                scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if zero:
                optimizer.zero_grad(set_to_none=True)

    return train_loop


def test_check_training_loop(capsys):
    assert check_training_loop(_loop())
    assert "same steps as fit()" in capsys.readouterr().out
    for slip in ({"share": False}, {"unscale": False}, {"zero": False}, {"autocast": False}):
        assert not check_training_loop(_loop(**slip)), slip
        assert "Not yet" in capsys.readouterr().out
    assert not check_training_loop(lambda *args: None)  # no update at all
    assert "optimizer updates" in capsys.readouterr().out
    assert not check_training_loop(lambda *args: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert check_training_loop(None) is None


def test_profile_has_a_validation_share_and_lr_candidates():
    cfg = get_profile("quick").agnews
    assert 0 < cfg.val_size < 1
    assert len(cfg.lr_candidates) >= 1


def test_interleaved_median_seconds_runs_every_variant_alike():
    from nlpcourse.evaluate.timing import compare_seconds

    calls = []
    seconds = compare_seconds(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1
    )
    assert calls == ["a", "b"] + ["a", "b"] * 3  # warm-ups, then interleaved rounds
    assert set(seconds) == {"a", "b"} and all(s >= 0 for s in seconds.values())
    with pytest.raises(ValueError, match="repeats"):
        compare_seconds({"a": lambda: None}, repeats=0)
