import math

import pytest
import torch
from transformers import CLIPImageProcessor, CLIPProcessor

from nlpcourse.data import synthetic_images
from nlpcourse.plots.training import plot_runs
from nlpcourse.train import contrastive
from nlpcourse.train.clip import epoch_batches, train_clip
from tests.test_full_branches import word_tokenizer
from tests.train.test_contrastive_positives import tiny_clip


@pytest.fixture(scope="module")
def pairs():
    samples = synthetic_images.generate(40, [("red", "circle"), ("blue", "square")], 16, seed=0)
    tokenizer = word_tokenizer()
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
        ),
        tokenizer=tokenizer,
    )
    inputs = processor(
        text=["the team won"] * len(samples),
        images=[s.image for s in samples],
        return_tensors="pt",
        padding=True,
    )
    return dict(inputs), [s.caption for s in samples]  # few distinct captions: repeats


def test_epoch_batches_plain_and_distinct(pairs):
    _, captions = pairs
    plain = epoch_batches(captions, 8, torch.Generator().manual_seed(0), distinct=False)
    assert len(plain) == 5 and all(len(b) == 8 for b in plain)
    distinct = epoch_batches(captions, 4, torch.Generator().manual_seed(0), distinct=True)
    for batch in distinct:
        assert contrastive.false_negative_share([captions[i] for i in batch]) == 0.0


@pytest.mark.parametrize("multi_positive", [False, True])
def test_train_clip_logs_every_step(pairs, multi_positive):
    inputs, captions = pairs
    torch.manual_seed(0)
    model = tiny_clip()
    model.text_model.embeddings.token_embedding = torch.nn.Embedding(64, 8)
    optimizer = torch.optim.AdamW(contrastive.clip_param_groups(model, 1e-3, 0.1))
    history = train_clip(
        model,
        inputs,
        captions,
        optimizer,
        epochs=2,
        batch_size=8,
        multi_positive=multi_positive,
        max_logit_scale=20.0,
        progress=False,
    )
    assert len(history.steps) == 2 * 5 and history.epochs == 2
    row = history.steps[-1]
    assert {"loss", "lr", "grad_norm", "logit_scale", "false_negatives", "loss_floor"} <= set(row)
    assert math.isfinite(row["loss"]) and row["logit_scale"] <= 20.0 + 1e-4
    assert history.steps[-1]["epoch"] == pytest.approx(2.0)
    assert any(r["false_negatives"] > 0 for r in history.steps)  # random batches repeat captions
    assert not model.training
    plot_runs({"run": history}, keys=("loss", "false_negatives"))


def test_distinct_batches_have_no_false_negatives(pairs):
    inputs, captions = pairs
    model = tiny_clip()
    model.text_model.embeddings.token_embedding = torch.nn.Embedding(64, 8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = train_clip(
        model,
        inputs,
        captions,
        optimizer,
        epochs=1,
        batch_size=4,
        distinct_batches=True,
        progress=False,
    )
    assert history.steps and all(r["false_negatives"] == 0.0 for r in history.steps)
    assert all(r["loss_floor"] == 0.0 for r in history.steps)


def test_train_clip_errors(pairs):
    inputs, captions = pairs
    model = tiny_clip()
    optimizer = torch.optim.AdamW(model.parameters())
    with pytest.raises(ValueError, match="captions"):
        train_clip(model, inputs, captions[:3], optimizer, epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="pixel_values"):
        train_clip(
            model, {"input_ids": inputs["input_ids"]}, captions, optimizer, epochs=1, batch_size=4
        )


def test_the_clip_step_written_out_equals_train_clip(pairs):
    """Notebook 07's twin: one step at the model's own 1/τ, symmetric loss, clamp after it."""
    inputs, captions = pairs
    rows, batch_size, cap = 24, 8, 100.0
    inputs = {key: value[:rows] for key, value in inputs.items()}
    twins = []
    for _ in range(2):
        torch.manual_seed(0)
        twins.append(tiny_clip())
        with torch.no_grad():
            twins[-1].logit_scale.fill_(math.log(2 * cap))  # 1/τ = 200: the clamp must act
    optimizer = torch.optim.AdamW(twins[0].parameters(), lr=1e-2)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as train_clip runs
    twins[0].train()
    by_hand = []
    try:
        order = epoch_batches(captions[:rows], batch_size, torch.Generator().manual_seed(3), False)
        for index in order:
            out = twins[0](**{key: value[index] for key, value in inputs.items()})
            logits = twins[0].logit_scale.exp() * out.image_embeds @ out.text_embeds.T  # (B, B)
            targets = torch.arange(len(logits))  # (B,)
            loss = (
                torch.nn.functional.cross_entropy(logits, targets)
                + torch.nn.functional.cross_entropy(logits.T, targets)
            ) / 2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                twins[0].logit_scale.clamp_(max=math.log(cap))
            by_hand.append(loss.item())
    finally:
        torch.set_num_threads(previous)
    history = train_clip(
        twins[1],
        inputs,
        captions[:rows],
        torch.optim.AdamW(twins[1].parameters(), lr=1e-2),
        epochs=1,
        batch_size=batch_size,
        max_logit_scale=cap,
        seed=3,
        progress=False,
    )
    torch.testing.assert_close(by_hand, [row["loss"] for row in history.steps])
    for a, b in zip(twins[0].parameters(), twins[1].parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert twins[0].logit_scale.exp().item() <= cap + 1e-3  # clamped from 200
