import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader
from transformers import CLIPConfig, CLIPModel

from nlpcourse.train import contrastive
from nlpcourse.train.optim import describe_groups

CAPTIONS = ["red circle", "blue square", "red circle", "green diamond", "blue square", "red circle"]


def test_positive_mask_and_false_negative_shares():
    mask = contrastive.positive_mask(CAPTIONS)
    assert mask.shape == (6, 6) and mask.diag().all() and torch.equal(mask, mask.T)
    assert mask[0, 2] and mask[0, 5] and not mask[0, 1]
    assert contrastive.false_negative_share(CAPTIONS) == pytest.approx(5 / 6)
    # off-diagonal same-caption pairs: red 3·2 + blue 2·1 = 8 of 6·5 = 30
    assert contrastive.false_negative_pair_share(CAPTIONS) == pytest.approx(8 / 30)
    assert contrastive.false_negative_share(["a", "b", "c"]) == 0.0
    assert contrastive.false_negative_pair_share(["a"]) == 0.0


def test_loss_floor_is_mean_log_multiplicity():
    expected = (3 * math.log(3) + 2 * math.log(2) + 0) / 6
    assert contrastive.clip_loss_floor(CAPTIONS) == pytest.approx(expected)
    assert contrastive.clip_loss_floor(["a", "b"]) == 0.0


def test_standard_loss_stops_at_the_floor_multi_positive_reaches_zero():
    mask = contrastive.positive_mask(CAPTIONS).float()
    logits = 200.0 * mask  # perfect model: every matching caption far above the others
    standard = contrastive.clip_loss_from_logits(logits).item()
    assert standard == pytest.approx(contrastive.clip_loss_floor(CAPTIONS), abs=1e-5)
    assert contrastive.multi_positive_loss_from_logits(logits, CAPTIONS).item() < 1e-6


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 12), seed=st.integers(0, 10_000))
def test_equals_clip_loss_when_captions_are_distinct(n, seed):
    logits = torch.randn(n, n, generator=torch.Generator().manual_seed(seed)) * 4
    torch.testing.assert_close(
        contrastive.multi_positive_loss_from_logits(logits, [f"c{i}" for i in range(n)]),
        contrastive.clip_loss_from_logits(logits),
    )


def test_matches_the_formula_written_out():
    logits = torch.randn(6, 6, generator=torch.Generator().manual_seed(1))
    mask = contrastive.positive_mask(CAPTIONS)
    p_image = logits.softmax(dim=1)  # image i over captions
    p_text = logits.softmax(dim=0)  # caption j over images
    image_to_text = -(p_image * mask).sum(dim=1).log().mean()
    text_to_image = -(p_text * mask).sum(dim=0).log().mean()
    torch.testing.assert_close(
        contrastive.multi_positive_loss_from_logits(logits, CAPTIONS),
        (image_to_text + text_to_image) / 2,
    )


def test_multi_positive_clip_loss_from_embeddings_and_gradients():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(6, 8, generator=generator, requires_grad=True)
    texts = torch.randn(6, 8, generator=generator)
    loss = contrastive.multi_positive_clip_loss(images, texts, CAPTIONS, temperature=0.1)
    logits = contrastive.similarity_logits(images, texts, 0.1)
    torch.testing.assert_close(loss, contrastive.multi_positive_loss_from_logits(logits, CAPTIONS))
    loss.backward()
    assert torch.isfinite(images.grad).all()


def test_multi_positive_bad_inputs():
    with pytest.raises(ValueError, match="one caption per row"):
        contrastive.multi_positive_loss_from_logits(torch.zeros(3, 3), ["a", "b"])
    with pytest.raises(ValueError, match="square"):
        contrastive.multi_positive_loss_from_logits(torch.zeros(3, 2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="empty"):
        contrastive.positive_mask([])


def _captions(n=300, distinct=40, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [f"caption {int(i)}" for i in torch.randint(distinct, (n,), generator=generator)]


def test_distinct_caption_batches_never_repeat_a_caption():
    captions = _captions()
    batches = contrastive.distinct_caption_batches(captions, 16, torch.Generator().manual_seed(0))
    used = torch.cat(batches).tolist()
    assert len(used) == len(set(used))  # every row at most once
    assert all(len(b) == 16 for b in batches)
    assert len(used) >= len(captions) - 3 * 16  # only a few rows left over
    for batch in batches:
        assert contrastive.false_negative_share([captions[i] for i in batch]) == 0.0
    every = contrastive.distinct_caption_batches(captions, 16, drop_last=False)
    assert sorted(torch.cat(every).tolist()) == list(range(len(captions)))


def test_distinct_caption_batches_are_seeded():
    captions = _captions()
    first = contrastive.distinct_caption_batches(captions, 8, torch.Generator().manual_seed(3))
    again = contrastive.distinct_caption_batches(captions, 8, torch.Generator().manual_seed(3))
    other = contrastive.distinct_caption_batches(captions, 8, torch.Generator().manual_seed(4))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=False))


def test_random_batches_do_repeat_captions():
    captions = _captions()
    order = torch.randperm(len(captions), generator=torch.Generator().manual_seed(0))
    shares = [
        contrastive.false_negative_share([captions[i] for i in order[s : s + 16]])
        for s in range(0, 288, 16)
    ]
    assert sum(shares) / len(shares) > 0.1  # why the distinct batching is needed


def test_distinct_caption_batches_errors():
    with pytest.raises(ValueError, match="distinct captions"):
        contrastive.distinct_caption_batches(["a", "b", "a"], 3)
    with pytest.raises(ValueError, match="at least 1"):
        contrastive.distinct_caption_batches(["a"], 0)


def test_batch_sampler_in_a_data_loader_changes_order_each_epoch():
    captions = _captions(120, 30)
    sampler = contrastive.DistinctCaptionBatchSampler(captions, 10, seed=1)
    loader = DataLoader(list(range(len(captions))), batch_sampler=sampler)
    epochs = [[batch.tolist() for batch in loader] for _ in range(2)]
    assert epochs[0] != epochs[1]
    for batch in epochs[0] + epochs[1]:
        assert len({captions[i] for i in batch}) == len(batch) == 10
    assert len(sampler) == len(list(sampler))


def tiny_clip():
    config = CLIPConfig(
        text_config={
            "vocab_size": 50,
            "hidden_size": 8,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 8,
        },
        vision_config={
            "image_size": 16,
            "patch_size": 8,
            "hidden_size": 8,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        projection_dim=8,
    )
    return CLIPModel(config)


def test_clip_param_groups_leave_scale_norms_and_biases_undecayed():
    model = tiny_clip()
    groups = contrastive.clip_param_groups(model, lr=1e-3, weight_decay=0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)] for p in groups[0]["params"]}
    no_decay = {names[id(p)] for p in groups[1]["params"]}
    assert "logit_scale" in no_decay
    assert "text_model.final_layer_norm.weight" in no_decay
    assert "vision_model.encoder.layers.0.mlp.fc1.bias" in no_decay
    assert "vision_model.embeddings.class_embedding" in no_decay
    assert "vision_model.encoder.layers.0.mlp.fc1.weight" in decay
    assert "text_projection.weight" in decay
    assert decay.isdisjoint(no_decay)
    assert len(decay | no_decay) == len(list(model.parameters()))
    assert all(p.ndim >= 2 for p in groups[0]["params"])
    optimizer = torch.optim.AdamW(groups)
    table = describe_groups(optimizer)
    assert table.loc["no_decay", "weight_decay"] == 0.0
    assert table.loc["decay", "weight_decay"] == 0.1


def test_clip_param_groups_skip_frozen_and_check_settings():
    model = tiny_clip()
    model.logit_scale.requires_grad_(False)
    groups = contrastive.clip_param_groups(model, lr=1e-3, weight_decay=0.1)
    assert all(p is not model.logit_scale for g in groups for p in g["params"])
    with pytest.raises(ValueError, match="lr > 0"):
        contrastive.clip_param_groups(model, lr=0.0, weight_decay=0.1)
