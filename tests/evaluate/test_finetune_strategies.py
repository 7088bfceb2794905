"""Helpers of notebook 05: pooled heads, topic cosines, captured inputs, comparisons, timing."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from nlpcourse.config import get_profile
from nlpcourse.evaluate.comparison import compare_variants, verdict
from nlpcourse.evaluate.stats import Interval
from nlpcourse.evaluate.timing import compare_step_seconds
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.pooling import capture_inputs, mean_pool, topic_cosines
from nlpcourse.plots.finetune import plot_cosine_histograms, plot_layer_rates, plot_schedules
from nlpcourse.train.optim import describe_groups, lr_curve, param_groups
from tests.tiny_bert import tiny_bert, tiny_tokenizer

matplotlib.use("Agg")


@pytest.fixture
def batch():
    return tiny_tokenizer()(
        ["the cat sat", "stock market fell on the mat"], padding=True, return_tensors="pt"
    )


@pytest.mark.parametrize("pooling", ["cls", "mean", "pooler"])
def test_encoder_classifier_pools_as_named(batch, pooling):
    encoder = tiny_bert().bert
    model = EncoderClassifier(encoder, num_outputs=3, pooling=pooling).eval()
    with torch.no_grad():
        out = encoder(**batch)
        pooled = {
            "cls": out.last_hidden_state[:, 0],
            "mean": mean_pool(out.last_hidden_state, batch["attention_mask"]),
            "pooler": out.pooler_output,
        }[pooling]
        torch.testing.assert_close(model(**batch), model.head(pooled))
    assert model(**batch).shape == (2, 3)


def test_encoder_classifier_with_pooler_equals_bert_for_sequence_classification(batch):
    reference = tiny_bert(num_labels=3)
    ours = EncoderClassifier(reference.bert, 3, pooling="pooler").eval()
    ours.head.load_state_dict(reference.classifier.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours(**batch), reference(**batch).logits)


def test_encoder_classifier_errors():
    encoder = tiny_bert().bert
    with pytest.raises(ValueError, match="pooling must be one of"):
        EncoderClassifier(encoder, 3, pooling="max")
    with pytest.raises(ValueError, match="num_outputs"):
        EncoderClassifier(encoder, 0)
    encoder.pooler = None
    with pytest.raises(ValueError, match="needs an encoder with a pooler"):
        EncoderClassifier(encoder, 3, pooling="pooler")
    EncoderClassifier(encoder, 3, pooling="mean")  # no pooler needed


def test_encoder_classifier_groups_by_head_prefix():
    model = EncoderClassifier(tiny_bert().bert, 4)
    names = {g["name"] for g in param_groups(model, 2e-5, 1e-3, head=("head",))}
    assert names == {"body/decay", "body/no_decay", "head/decay", "head/no_decay"}


def test_topic_cosines_counts_each_pair_once():
    vectors = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [1.0, 1.0]])
    labels = [0, 0, 1, 1, 0]
    same, different = topic_cosines(vectors, labels)
    assert len(same) == 4 and len(different) == 6  # C(3,2) + C(2,2) same; 3 x 2 different
    assert torch.isclose(same.max(), torch.tensor(1.0))
    assert torch.isclose(different.min(), torch.tensor(0.0))
    assert torch.isclose(same.sort().values[0], torch.tensor(2**-0.5))


def test_topic_cosines_errors():
    with pytest.raises(ValueError, match="expected"):
        topic_cosines(torch.zeros(3, 2), [0, 1])
    with pytest.raises(ValueError, match="two rows"):
        topic_cosines(torch.zeros(1, 2), [0])


def test_capture_inputs_records_and_removes_its_hook(batch):
    model = EncoderClassifier(tiny_bert().bert, 3).eval()
    with capture_inputs(model.head) as seen, torch.no_grad():
        model(**batch)
        model(**batch)
    assert len(seen) == 2 and seen[0].shape == (2, model.head.in_features)
    with torch.no_grad():
        model(**batch)
    assert len(seen) == 2, "the hook is gone after the block"


def test_compare_variants_intervals_and_verdicts():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 600)
    good = truth.copy()
    good[:30] = (good[:30] + 1) % 4  # 95 % right
    bad = truth.copy()
    bad[:300] = (bad[:300] + 1) % 4  # 50 % right
    close = good.copy()
    close[30:33] = (close[30:33] + 1) % 4  # three more mistakes than the reference
    against = {"bad": "ref", "close": "ref"}
    predictions = {"ref": good, "bad": bad, "close": close}
    table = compare_variants(truth, predictions, against, n_boot=500)
    assert list(table.index) == ["ref", "bad", "close"]
    assert table.loc["ref", "verdict"] == "" and np.isnan(table.loc["ref", "difference"])
    assert table.loc["bad", "verdict"] == "lower" and table.loc["bad", "against"] == "ref"
    assert table.loc["close", "verdict"] == "no measurable difference"
    assert np.isclose(table.loc["bad", "difference"], 0.5 - 0.95)
    assert (table["low"] <= table["accuracy"]).all() and (table["accuracy"] <= table["high"]).all()
    assert (
        compare_variants(truth, predictions, {"ref": "bad"}, n_boot=200).loc["ref", "verdict"]
        == "higher"
    )
    with pytest.raises(ValueError, match="not among"):
        compare_variants(truth, {"a": good}, {"a": "b"})


def test_verdict_reads_the_interval():
    assert verdict(Interval(0.02, 0.01, 0.03)) == "higher"
    assert verdict(Interval(-0.02, -0.03, -0.01)) == "lower"
    assert verdict(Interval(0.01, -0.01, 0.03)) == "no measurable difference"


def test_compare_step_seconds_feeds_every_setting_the_same_batches():
    seen = {"a": [], "b": []}
    steps = {name: seen[name].append for name in seen}
    result = compare_step_seconds(steps, batches=[1, 2, 3], rounds=2, warmup=1)
    assert set(result) == {"a", "b"} and all(v >= 0 for v in result.values())
    assert seen["a"] == seen["b"] == [1] + [1, 2, 3] * 2
    with pytest.raises(ValueError, match="at least one batch"):
        compare_step_seconds(steps, batches=[])
    with pytest.raises(ValueError, match="rounds"):
        compare_step_seconds(steps, batches=[1], rounds=0)
    with pytest.raises(ValueError, match="setting"):
        compare_step_seconds({}, batches=[1])


def test_plots_draw_one_artist_per_input():
    fig = plot_schedules(
        {"linear": lr_curve("linear", 2, 10), "cosine": lr_curve("cosine", 2, 10)}, 2
    )
    assert len(fig.axes[0].lines) == 3  # two schedules and the warmup marker
    groups = describe_groups(param_groups(tiny_bert(), 1e-3, layer_decay=0.5))
    fig = plot_layer_rates(groups)
    assert len(fig.axes[0].patches) == len(groups[groups.index.str.endswith("/decay")])
    same, different = torch.rand(10), torch.rand(20)
    fig = plot_cosine_histograms({"[CLS]": (same, different), "mean": (same, different)}, bins=5)
    assert len(fig.axes) == 2 and len(fig.axes[0].patches) == 10
    with pytest.raises(ValueError):
        plot_schedules({})
    with pytest.raises(ValueError):
        plot_cosine_histograms({})
    with pytest.raises(ValueError):
        plot_layer_rates(pd.DataFrame({"lr": [1.0]}, index=["head/no_decay"]))


def test_profiles_size_the_comparison():
    for name in ("quick", "full"):
        profile = get_profile(name)
        cfg = profile.finetune
        assert 0 < profile.agnews.val_size < 1
        assert cfg.train_size >= cfg.batch_size and cfg.reference_seeds >= 1
        assert 0 <= cfg.warmup_ratio < 1 and 0 < cfg.layer_decay <= 1
