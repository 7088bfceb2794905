import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nlpcourse.config import seed_everything
from nlpcourse.plots.training import plot_history, plot_runs
from nlpcourse.train.loop import History, evaluate, fit, predict, split_batch


def separable(n=256, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def loaders(batch_size=32):
    return (
        DataLoader(separable(256, 0), batch_size=batch_size, shuffle=True),
        DataLoader(separable(128, 1), batch_size=64),
    )


def test_fit_lowers_the_loss_on_a_separable_problem():
    seed_everything(0)
    model = nn.Linear(2, 2)
    train, val = loaders()
    before = evaluate(model, val)["loss"]
    history = fit(
        model,
        train,
        val,
        epochs=5,
        optimizer=torch.optim.SGD(model.parameters(), 0.5),
        progress=False,
    )
    assert history.epochs == 5
    assert history.last("val_loss") < before
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.last("val_accuracy") > 0.9
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "samples_per_s"}


def test_single_output_models_use_binary_cross_entropy():
    seed_everything(0)
    model = nn.Linear(2, 1)
    train, val = loaders()
    history = fit(
        model,
        train,
        val,
        epochs=4,
        optimizer=torch.optim.Adam(model.parameters(), 0.05),
        progress=False,
    )
    assert history.last("val_accuracy") > 0.9


def test_early_stopping_restores_the_best_epoch(monkeypatch):
    seed_everything(0)
    model = nn.Linear(2, 2)
    train, val = loaders()
    scores = iter([0.6, 0.9, 0.7, 0.8, 0.5, 0.4])
    snapshots = []

    import nlpcourse.train.loop as training

    real_evaluate = training.evaluate

    def scripted_evaluate(*args, **kwargs):
        snapshots.append(model.weight.detach().clone())
        result = real_evaluate(*args, **kwargs)
        result["accuracy"] = next(scores)
        return result

    monkeypatch.setattr(training, "evaluate", scripted_evaluate)
    history = fit(
        model,
        train,
        val,
        epochs=6,
        optimizer=torch.optim.SGD(model.parameters(), 0.5),
        patience=2,
        progress=False,
    )
    assert history.stopped_early
    assert history.epochs == 4  # epochs 3 and 4 did not beat epoch 2
    assert history.best_epoch == 1
    assert torch.equal(model.weight, snapshots[1])


def test_accumulation_matches_one_big_batch():
    data = separable(64, 3)
    seed_everything(0)
    big = nn.Linear(2, 2)
    small = nn.Linear(2, 2)
    small.load_state_dict(big.state_dict())
    for model, batch_size, steps in ((big, 32, 1), (small, 8, 4)):
        loader = DataLoader(data, batch_size=batch_size)
        fit(
            model,
            loader,
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), 0.1),
            accumulation_steps=steps,
            progress=False,
        )
    assert torch.allclose(big.weight, small.weight, atol=1e-6)


def test_accumulated_and_big_batch_runs_end_with_equal_weights():
    """Notebook 06's claim: dropout off, AdamW, clipping, a short last window: same weights."""
    data = separable(88, 4)  # 2 full windows of 32 rows and a last window of 24
    seed_everything(0)
    big = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.0), nn.Tanh(), nn.Linear(16, 2))
    accumulated = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.0), nn.Tanh(), nn.Linear(16, 2))
    accumulated.load_state_dict(big.state_dict())
    start = [p.detach().clone() for p in big.parameters()]
    for model, batch_size, steps in ((big, 32, 1), (accumulated, 8, 4)):
        fit(
            model,
            DataLoader(data, batch_size=batch_size),
            epochs=2,
            optimizer=torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01),
            accumulation_steps=steps,
            grad_clip=0.5,
            progress=False,
        )
    for before, b, a in zip(start, big.parameters(), accumulated.parameters(), strict=True):
        assert not torch.allclose(before, b)  # the runs trained
        torch.testing.assert_close(a, b)


def test_last_partial_window_still_steps():
    seed_everything(0)
    model = nn.Linear(2, 2)
    loader = DataLoader(separable(40, 0), batch_size=8)  # 5 batches, windows of 4 and 1
    steps = []
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    fit(model, loader, epochs=1, optimizer=optimizer, accumulation_steps=4, progress=False)
    assert len(steps) == 2


def test_bf16_autocast_runs_on_cpu():
    seed_everything(0)
    model = nn.Linear(2, 2)
    train, val = loaders()
    history = fit(
        model,
        train,
        val,
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), 0.5),
        amp_dtype=torch.bfloat16,
        progress=False,
    )
    assert history.last("val_accuracy") > 0.5


def test_dict_batches_and_predict():
    class DictModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, features):
            return self.linear(features)

    data = [{"features": torch.randn(4, 2), "labels": torch.tensor([0, 1, 0, 1])}] * 3
    model = DictModel()
    history = fit(
        model,
        data,
        data,
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), 0.1),
        progress=False,
    )
    assert history.epochs == 1
    assert predict(model, data).shape == (12, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"epochs": 1, "accumulation_steps": 0}, "accumulation_steps must be at least 1"),
        ({"epochs": 1, "patience": 1, "val": None}, "needs a val_loader"),
    ],
)
def test_bad_arguments(kwargs, message):
    model = nn.Linear(2, 2)
    train, val = loaders()
    val = kwargs.pop("val", val)
    with pytest.raises(ValueError, match=message):
        fit(model, train, val, optimizer=torch.optim.SGD(model.parameters(), 0.1), **kwargs)


def test_empty_loader_and_bad_batches():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, [], epochs=1, optimizer=torch.optim.SGD(model.parameters(), 0.1))
    with pytest.raises(ValueError, match="no batches"):
        evaluate(model, [])
    with pytest.raises(ValueError, match="'labels'"):
        split_batch({"x": torch.zeros(1)})
    with pytest.raises(ValueError, match="tuple"):
        split_batch(torch.zeros(3))


def test_plot_history():
    history = History()
    history.log(loss=1.0, val_loss=1.2, accuracy=0.5, val_accuracy=0.4)
    history.log(loss=0.5, val_loss=0.7, accuracy=0.8, val_accuracy=0.7)
    figure = plot_history(history)
    assert len(figure.axes) == 2
    figure.canvas.draw()
    ticks = figure.axes[0].get_xticks()
    assert all(float(tick).is_integer() for tick in ticks), "epochs are labelled as whole numbers"
    with pytest.raises(ValueError, match="Nothing to plot"):
        plot_history({})


def test_a_generator_loader_feeds_every_epoch():
    seed_everything(0)
    model = nn.Linear(2, 2)
    batches = (batch for batch in DataLoader(separable(64, 0), batch_size=16))
    history = fit(
        model, batches, epochs=3, optimizer=torch.optim.SGD(model.parameters(), 0.1), progress=False
    )
    assert history.epochs == 3
    assert all(rate > 0 for rate in history.history["samples_per_s"])


def test_regression_with_a_val_loader_needs_no_monitor():
    seed_everything(0)
    x = torch.randn(64, 3)
    data = TensorDataset(x, x.sum(dim=1, keepdim=True))
    model = nn.Linear(3, 1)
    history = fit(
        model,
        DataLoader(data, batch_size=16),
        DataLoader(data, batch_size=32),
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), 0.05),
        loss_fn=nn.functional.mse_loss,
        progress=False,
    )
    assert "val_accuracy" not in history.history and history.best_epoch == 1


def test_predict_accepts_dict_batches_without_labels():
    class Keyword(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, features):
            return self.linear(features)

    model = Keyword()
    batches = [{"features": torch.randn(4, 2)}, {"features": torch.randn(3, 2)}]
    assert predict(model, batches).shape == (7, 2)
    args, kwargs, labels = split_batch(batches[0], require_labels=False)
    assert args == () and labels is None and set(kwargs) == {"features"}


def test_fit_logs_every_optimizer_step():
    seed_everything(0)
    model = nn.Linear(2, 2)
    x, y = separable(40, 0).tensors
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 40, 8)]  # 5 micro-batches
    optimizer = torch.optim.SGD(model.parameters(), 0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    history = fit(
        model,
        batches,
        epochs=2,
        optimizer=optimizer,
        scheduler=scheduler,
        accumulation_steps=2,
        grad_clip=0.1,
        progress=False,
    )
    assert len(history.steps) == 6  # windows of 2, 2, 1 per epoch
    assert [row["step"] for row in history.steps] == [1, 2, 3, 4, 5, 6]
    assert [row["epoch"] for row in history.steps] == [0.4, 0.8, 1.0, 1.4, 1.8, 2.0]
    _, lrs = history.step_values("lr")
    assert lrs == pytest.approx([0.5 / (1 + k) for k in range(6)])
    assert all(row["grad_norm"] > 0 for row in history.steps)  # measured before clipping to 0.1
    # the per-step losses of one epoch average (weighted by rows) to the epoch's loss
    first = history.steps[:3]
    weighted = (first[0]["loss"] * 16 + first[1]["loss"] * 16 + first[2]["loss"] * 8) / 40
    assert weighted == pytest.approx(history.history["loss"][0])


def test_step_values_explains_a_missing_key():
    with pytest.raises(ValueError, match="No steps"):
        History().step_values("loss")
    history = History(steps=[{"step": 1, "epoch": 1.0, "loss": 0.5}])
    with pytest.raises(ValueError, match="not 'accuracy'"):
        history.step_values("accuracy")


def test_plot_runs_draws_one_line_per_run():
    runs = {}
    for name, lr in (("fast", 0.5), ("slow", 0.05)):
        seed_everything(0)
        model = nn.Linear(2, 2)
        runs[name] = fit(
            model,
            loaders()[0],
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), lr),
            progress=False,
        )
    fig = plot_runs(runs, keys=("loss", "lr", "grad_norm"), smooth=3)
    assert len(fig.axes) == 3
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["fast", "slow"]
    with pytest.raises(ValueError, match="No runs"):
        plot_runs({})


def test_eval_every_scores_validation_inside_epochs_without_changing_training():
    def run(eval_every):
        seed_everything(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.3), nn.Linear(8, 2))
        train, val = loaders(batch_size=32)  # 8 steps per epoch
        history = fit(
            model,
            train,
            val,
            epochs=2,
            optimizer=torch.optim.SGD(model.parameters(), 0.5),
            progress=False,
            eval_every=eval_every,
        )
        return model, history

    plain_model, plain = run(None)
    model, history = run(3)
    for name, weight in plain_model.state_dict().items():  # no weight, no random draw changed
        torch.testing.assert_close(model.state_dict()[name], weight)
    assert [row["step"] for row in plain.evals] == [8, 16]  # each epoch's end only
    assert [row["step"] for row in history.evals] == [3, 6, 8, 9, 12, 15, 16]
    epochs, losses = history.eval_values("val_loss")
    assert epochs == pytest.approx([3 / 8, 6 / 8, 1, 9 / 8, 12 / 8, 15 / 8, 2])
    assert losses[2] == pytest.approx(history.history["val_loss"][0])
    assert losses[-1] == pytest.approx(history.last("val_loss"))
    fig = plot_runs({"run": history}, keys=("loss",))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["run", "run (val)"]
    with pytest.raises(ValueError, match="not 'val_f1'"):
        history.eval_values("val_f1")
    with pytest.raises(ValueError, match="No validation passes"):
        History().eval_values("val_loss")
    with pytest.raises(ValueError, match="needs a val_loader"):
        fit(
            model,
            loaders()[0],
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), 0.1),
            eval_every=2,
        )


def test_the_progress_bar_leaves_a_seeded_loader_s_batch_order_alone():
    """fit(progress=True) trains on the same shuffled batches, epoch by epoch, as progress=False."""
    weights = []
    for progress in (False, True):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        loader = DataLoader(
            separable(96, 0),
            batch_size=16,
            shuffle=True,
            generator=torch.Generator().manual_seed(3),
        )
        optimizer = torch.optim.SGD(model.parameters(), 0.5)
        fit(model, loader, epochs=3, optimizer=optimizer, progress=progress)
        weights.append(model.state_dict())
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)
