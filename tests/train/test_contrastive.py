import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import CLIPConfig, CLIPModel

from nlpcourse.train.contrastive import (
    check_pair_batch,
    clip_loss,
    clip_loss_from_logits,
    retrieval_accuracy,
    similarity_logits,
)


def random_pairs(n=8, dim=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=generator), torch.randn(n, dim, generator=generator)


def tiny_clip(seed=0):
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={
            "vocab_size": 50,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 12,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 3,
        },
        vision_config={
            "image_size": 16,
            "patch_size": 8,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        projection_dim=8,
    )
    return CLIPModel(config).eval()


def test_matches_transformers_clip_model_return_loss():
    model = tiny_clip()
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(4, 50, (6, 7), generator=generator)
    input_ids[:, -1] = 3  # every caption ends with the EOS id the text tower pools at
    pixel_values = torch.randn(6, 3, 16, 16, generator=generator)
    with torch.no_grad():
        out = model(input_ids=input_ids, pixel_values=pixel_values, return_loss=True)
    temperature = 1 / model.logit_scale.exp()
    ours = clip_loss(out.image_embeds, out.text_embeds, temperature=temperature)
    torch.testing.assert_close(ours, out.loss)
    logits = similarity_logits(out.image_embeds, out.text_embeds, temperature)
    torch.testing.assert_close(logits, out.logits_per_image)


@pytest.mark.parametrize("seed", range(5))
def test_matches_transformers_contrastive_loss_on_random_embeddings(seed):
    from transformers.models.clip.modeling_clip import image_text_contrastive_loss

    images, texts = random_pairs(n=10, dim=12, seed=seed)
    tau = 0.05 + seed * 0.3
    logits_per_text = similarity_logits(texts, images, tau)  # transformers' convention
    expected = image_text_contrastive_loss(logits_per_text)
    torch.testing.assert_close(clip_loss(images, texts, tau), expected)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 12),
    dim=st.integers(1, 16),
    seed=st.integers(0, 1_000),
    tau=st.floats(0.01, 5.0),
)
def test_symmetric_in_images_and_texts(n, dim, seed, tau):
    images, texts = random_pairs(n, dim, seed)
    torch.testing.assert_close(clip_loss(images, texts, tau), clip_loss(texts, images, tau))
    logits = similarity_logits(images, texts, tau)
    torch.testing.assert_close(clip_loss_from_logits(logits), clip_loss_from_logits(logits.T))


def test_invariant_to_embedding_length():
    images, texts = random_pairs()
    scaled = clip_loss(images * 7.0, texts * 0.1)
    torch.testing.assert_close(scaled, clip_loss(images, texts))


def test_perfect_alignment_limit():
    n = 8
    aligned = torch.eye(n, 16)  # orthonormal pairs, image i == caption i
    for tau in (1.0, 0.2, 0.07):
        expected = math.log1p((n - 1) * math.exp(-1 / tau))
        assert clip_loss(aligned, aligned, tau).item() == pytest.approx(
            expected, rel=1e-4, abs=1e-6
        )
    assert clip_loss(aligned, aligned, 0.01).item() < 1e-6  # → 0 as τ → 0
    assert clip_loss(aligned, aligned, 0.07) < clip_loss(aligned, aligned, 1.0)


def test_no_signal_limit_is_log_n():
    for n in (1, 2, 64):
        uniform = clip_loss_from_logits(torch.zeros(n, n))
        assert uniform.item() == pytest.approx(math.log(n), abs=1e-6)
        same = torch.ones(n, 4)  # every embedding identical: every logit equal
        assert clip_loss(same, same, 0.07).item() == pytest.approx(math.log(n), abs=1e-5)


def test_random_high_dimensional_embeddings_give_about_log_n():
    n = 32
    images, texts = random_pairs(n=n, dim=4_096, seed=3)
    assert clip_loss(images, texts, 1.0).item() == pytest.approx(math.log(n), abs=0.05)


def test_wrong_pairs_cost_more_than_right_pairs():
    aligned = torch.eye(6, 8)
    shuffled = aligned[torch.tensor([1, 2, 3, 4, 5, 0])]
    assert clip_loss(aligned, shuffled, 0.1) > math.log(6) > clip_loss(aligned, aligned, 0.1)


def test_tensor_temperature_keeps_gradients():
    images, texts = random_pairs()
    logit_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    loss = clip_loss(images, texts, temperature=1 / logit_scale.exp())
    loss.backward()
    assert logit_scale.grad is not None and torch.isfinite(logit_scale.grad)


def test_retrieval_accuracy():
    logits = torch.tensor([[5.0, 1.0, 0.0], [0.0, 2.0, 3.0], [0.0, 1.0, 4.0]])
    image_to_text, text_to_image = retrieval_accuracy(logits)
    assert image_to_text == pytest.approx(2 / 3)
    assert text_to_image == 1.0  # each caption (column) is best matched by its own image
    assert retrieval_accuracy(torch.eye(4)) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("images", "texts", "kwargs", "message"),
    [
        (torch.ones(4, 8), torch.ones(3, 8), {}, "4 images but 3 texts"),
        (torch.ones(0, 8), torch.ones(0, 8), {}, "empty"),
        (torch.ones(4, 8), torch.ones(4, 6), {}, "shared space"),
        (torch.ones(4), torch.ones(4), {}, r"\(batch, dim\)"),
        (torch.ones(4, 8), torch.ones(4, 8), {"temperature": 0.0}, "positive"),
        (torch.ones(4, 8), torch.ones(4, 8), {"temperature": -0.07}, "positive"),
        (torch.ones(4, 8), torch.ones(4, 8), {"temperature": float("nan")}, "positive"),
        (torch.ones(4, 8), torch.ones(4, 8), {"temperature": torch.tensor(0.0)}, "positive"),
        (torch.ones(4, 8), torch.ones(4, 8), {"temperature": torch.ones(2)}, "one number"),
    ],
)
def test_bad_inputs_raise_clear_errors(images, texts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        clip_loss(images, texts, **kwargs)


def test_bad_logit_matrices_raise_clear_errors():
    with pytest.raises(ValueError, match="square"):
        clip_loss_from_logits(torch.ones(3, 4))
    with pytest.raises(ValueError, match="empty"):
        clip_loss_from_logits(torch.ones(0, 0))
    with pytest.raises(ValueError, match="square"):
        retrieval_accuracy(torch.ones(2, 3))
    with pytest.raises(ValueError, match="empty"):
        retrieval_accuracy(torch.ones(0, 0))
    with pytest.raises(ValueError, match=r"\(batch, dim\)"):
        check_pair_batch([[1.0]], torch.ones(1, 1))
