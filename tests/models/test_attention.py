import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse.models.attention import (
    EncoderBlock,
    MultiHeadAttention,
    TransformerClassifier,
    causal_mask,
    classifier_parameter_count,
    merge_heads,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    split_heads,
)

FAST = settings(max_examples=40, deadline=None)


@st.composite
def attention_inputs(draw):
    """Random shapes, head counts and (sometimes) boolean masks, some rows fully masked."""
    batch = draw(st.integers(1, 3))
    heads = draw(st.integers(1, 4))
    len_q, len_k = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    d_k, d_v = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["none", "random", "padding", "causal"]))
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, len_q, d_k, generator=gen)
    k = torch.randn(batch, heads, len_k, d_k, generator=gen)
    v = torch.randn(batch, heads, len_k, d_v, generator=gen)
    if kind == "random":
        mask = torch.rand(batch, 1, len_q, len_k, generator=gen) > 0.4
    elif kind == "padding":
        lengths = torch.randint(0, len_k + 1, (batch,), generator=gen)
        mask = padding_mask(torch.arange(len_k)[None, :] < lengths[:, None])
    elif kind == "causal":
        mask = causal_mask(len_q, len_k)
    else:
        mask = None
    return q, k, v, mask


@FAST
@given(attention_inputs())
def test_matches_pytorch_fused_kernel(inputs):
    q, k, v, mask = inputs
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert output.shape == expected.shape
    assert (output - expected).abs().max().item() < 1e-5
    assert weights.shape == (*q.shape[:-1], k.shape[-2])
    assert not weights.isnan().any()
    # every row sums to 1, or to 0 when all its keys are masked
    rows_with_keys = (
        torch.ones_like(weights[..., 0])
        if mask is None
        else mask.any(-1).expand_as(weights[..., 0])
    )
    torch.testing.assert_close(weights.sum(-1), rows_with_keys.to(weights.dtype))


@FAST
@given(attention_inputs())
def test_masked_keys_get_exactly_zero_weight(inputs):
    q, k, v, mask = inputs
    if mask is None:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool)
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights[~mask.expand_as(weights)] == 0)


def test_default_scale_is_one_over_sqrt_of_key_width():
    q, k, v = torch.randn(1, 4, 32), torch.randn(1, 5, 32), torch.randn(1, 5, 3)
    out, _ = scaled_dot_product_attention(q, k, v)
    manual = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(32), dim=-1) @ v
    torch.testing.assert_close(out, manual)
    out8, _ = scaled_dot_product_attention(q, k, v, scale=0.125)
    torch.testing.assert_close(out8, F.scaled_dot_product_attention(q, k, v, scale=0.125))


def test_causal_mask_semantics():
    mask = causal_mask(4)
    assert mask.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
        [True, True, True, True],
    ]
    assert causal_mask(2, 3).tolist() == [[True, False, False], [True, True, False]]
    q, k, v = torch.randn(1, 6, 8), torch.randn(1, 6, 8), torch.randn(1, 6, 8)
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(6))
    assert torch.all(weights.triu(1) == 0)  # nothing from the future
    torch.testing.assert_close(out[:, 0], v[:, 0])  # the first token sees only itself
    # changing a later token leaves earlier outputs unchanged
    k2, v2 = k.clone(), v.clone()
    k2[:, 4:], v2[:, 4:] = 10.0, -10.0
    out2, _ = scaled_dot_product_attention(q, k2, v2, causal_mask(6))
    torch.testing.assert_close(out2[:, :4], out[:, :4])
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert (out - expected).abs().max().item() < 1e-5


def test_fully_masked_row_gives_zeros_and_zero_gradients():
    q = torch.randn(1, 3, 4, requires_grad=True)
    k = torch.randn(1, 5, 4, requires_grad=True)
    v = torch.randn(1, 5, 2, requires_grad=True)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.equal(out[0, 1], torch.zeros(2))
    assert torch.equal(weights[0, 1], torch.zeros(5))
    out.sum().backward()
    for tensor in (q, k, v):
        assert torch.isfinite(tensor.grad).all()
    assert torch.equal(q.grad[0, 1], torch.zeros(4))
    # all keys masked everywhere: still no NaN
    out, weights = scaled_dot_product_attention(q, k, v, torch.zeros(3, 5, dtype=torch.bool))
    assert torch.equal(out, torch.zeros_like(out)) and torch.equal(
        weights, torch.zeros_like(weights)
    )


def test_gradcheck_in_float64():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    k = torch.randn(2, 5, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    v = torch.randn(2, 5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    mask = torch.rand(2, 3, 5, generator=gen) > 0.3
    mask[0, 1] = False  # one fully masked row

    def output_only(q, k, v):
        return scaled_dot_product_attention(q, k, v, mask)[0]

    def weights_only(q, k, v):
        return scaled_dot_product_attention(q, k, v, mask)[1]

    assert torch.autograd.gradcheck(output_only, (q, k, v))
    assert torch.autograd.gradcheck(weights_only, (q, k, v))


@settings(max_examples=25, deadline=None)
@given(
    heads=st.sampled_from([1, 2, 4, 8]),
    batch=st.integers(1, 3),
    seq=st.integers(1, 8),
    bias=st.booleans(),
    pad=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_multi_head_matches_torch_multihead_attention(heads, batch, seq, bias, pad, seed):
    torch.manual_seed(seed)
    d_model = 16
    reference = torch.nn.MultiheadAttention(d_model, heads, bias=bias, batch_first=True).eval()
    mine = MultiHeadAttention(d_model, heads, bias=bias).eval().load_from_torch(reference)
    x = torch.randn(batch, seq, d_model)
    key_padding = torch.zeros(batch, seq, dtype=torch.bool)  # True = padding (PyTorch's sense)
    if pad and seq > 1:
        key_padding[0, seq // 2 :] = True
    expected, expected_weights = reference(
        x, x, x, key_padding_mask=key_padding, average_attn_weights=False
    )
    out, weights = mine(x, mask=padding_mask(~key_padding))
    assert (out - expected).abs().max().item() < 1e-5
    assert (weights - expected_weights).abs().max().item() < 1e-5


def test_multi_head_cross_attention_and_causal_mask():
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(12, 3, batch_first=True).eval()
    mine = MultiHeadAttention(12, 3).load_from_torch(reference)
    q, kv = torch.randn(2, 4, 12), torch.randn(2, 6, 12)
    torch.testing.assert_close(mine(q, kv)[0], reference(q, kv, kv)[0], atol=1e-5, rtol=0)
    x = torch.randn(2, 5, 12)
    expected, _ = reference(x, x, x, attn_mask=~causal_mask(5))  # PyTorch: True = blocked
    torch.testing.assert_close(mine(x, mask=causal_mask(5))[0], expected, atol=1e-5, rtol=0)


def test_split_and_merge_heads_are_inverse():
    x = torch.randn(2, 7, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 7, 4)
    torch.testing.assert_close(heads[:, 1], x[..., 4:8])
    assert torch.equal(merge_heads(heads), x)


def test_encoder_block_matches_torch_encoder_layer():
    torch.manual_seed(0)
    for norm_first in (False, True):
        reference = torch.nn.TransformerEncoderLayer(
            16, 4, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
        ).eval()
        block = EncoderBlock(16, 4, 32, dropout=0.0, norm_first=norm_first).eval()
        block.attention.load_from_torch(reference.self_attn)
        block.feed_forward[0].load_state_dict(reference.linear1.state_dict())
        block.feed_forward[2].load_state_dict(reference.linear2.state_dict())
        block.norm1.load_state_dict(reference.norm1.state_dict())
        block.norm2.load_state_dict(reference.norm2.state_dict())
        x = torch.randn(3, 5, 16)
        padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 5])
        out, weights = block(x, padding_mask(~padding))
        expected = reference(x, src_key_padding_mask=padding)
        assert weights.shape == (3, 4, 5, 5)
        assert (out[~padding] - expected[~padding]).abs().max().item() < 1e-5


def test_sinusoidal_positional_encoding_values():
    table = sinusoidal_positional_encoding(50, 16)
    assert table.shape == (50, 16)
    assert torch.equal(table[0, 0::2], torch.zeros(8)) and torch.equal(
        table[0, 1::2], torch.ones(8)
    )
    p, i = 7, 3
    angle = p / 10_000 ** (2 * i / 16)
    assert table[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    assert table.abs().max() <= 1.0
    with pytest.raises(ValueError, match="even d_model"):
        sinusoidal_positional_encoding(10, 7)


@pytest.mark.parametrize("num_classes", [1, 2, 5])
def test_classifier_shape_and_parameter_count(num_classes):
    sizes = dict(vocab_size=120, num_classes=num_classes, d_model=24, num_layers=3, ff_dim=40)
    model = TransformerClassifier(**sizes, num_heads=4, max_len=32)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == classifier_parameter_count(**sizes)
    # by hand: embeddings, 3 x (attention, feed-forward, two norms), final norm, head
    per_block = 4 * (24 * 24 + 24) + (24 * 40 + 40 + 40 * 24 + 24) + 4 * 24
    assert n_params == 120 * 24 + 3 * per_block + 2 * 24 + 24 * num_classes + num_classes
    logits = model(torch.randint(1, 120, (5, 11)))
    assert logits.shape == (5, num_classes)


def test_classifier_ignores_padding():
    torch.manual_seed(0)
    model = TransformerClassifier(50, num_classes=2, d_model=16, num_heads=2, ff_dim=32).eval()
    ids = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0, 0]])
    torch.testing.assert_close(model(ids), model(padded))
    torch.testing.assert_close(model(padded, torch.tensor([3])), model(ids))


def test_classifier_trains_with_fit():
    from torch.utils.data import DataLoader, TensorDataset

    from nlpcourse.train.loop import fit

    torch.manual_seed(0)
    ids = torch.randint(1, 20, (64, 6))
    labels = (ids == 3).any(dim=1).long()  # does token 3 occur?
    loader = DataLoader(TensorDataset(ids, labels), batch_size=16, shuffle=True)
    model = TransformerClassifier(20, d_model=16, num_heads=2, ff_dim=32, dropout=0.0)
    history = fit(
        model,
        loader,
        loader,
        epochs=15,
        optimizer=torch.optim.Adam(model.parameters(), lr=3e-3),
        progress=False,
    )
    assert history.last("val_accuracy") > 0.9


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="does not divide d_model=10"):
        MultiHeadAttention(10, 3)
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    with pytest.raises(ValueError, match="query width 8 differs from key width 6"):
        scaled_dot_product_attention(q, k, v)
    k = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, torch.ones(3, 4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="must be boolean"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 5))
    with pytest.raises(ValueError, match="5 keys but 6 values"):
        scaled_dot_product_attention(q, k, torch.randn(2, 6, 6))
    with pytest.raises(ValueError, match="must be"):
        MultiHeadAttention(8, 2)(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match="does not broadcast"):
        MultiHeadAttention(8, 2)(torch.randn(2, 3, 8), mask=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch, seq"):
        padding_mask(torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="exceed max_len=8"):
        TransformerClassifier(30, max_len=8, d_model=8, num_heads=2)(torch.ones(1, 9).long())
    with pytest.raises(ValueError, match="does not match"):
        MultiHeadAttention(8, 2).load_from_torch(torch.nn.MultiheadAttention(8, 4))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_block_load_from_torch_matches(norm_first):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(
        16, 4, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
    ).eval()
    block = EncoderBlock(16, 4, 32, dropout=0.0, norm_first=norm_first).eval()
    assert block.load_from_torch(layer) is block
    x = torch.randn(2, 5, 16)
    keep = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    with torch.no_grad():
        ours, _ = block(x, padding_mask(keep))
        theirs = layer(x, src_key_padding_mask=~keep)
    torch.testing.assert_close(ours[keep], theirs[keep], atol=1e-5, rtol=1e-5)


def test_encoder_block_load_from_torch_rejects_mismatches():
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, activation="gelu")
    with pytest.raises(ValueError, match="norm_first"):
        EncoderBlock(16, 4, 32, norm_first=True).load_from_torch(layer)
    with pytest.raises(ValueError, match="feed-forward"):
        EncoderBlock(16, 4, 64).load_from_torch(layer)
    relu_layer = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    with pytest.raises(ValueError, match="activation"):
        EncoderBlock(16, 4, 32, activation="gelu").load_from_torch(relu_layer)


def test_classifier_attention_maps_shapes_and_padding():
    torch.manual_seed(0)
    model = TransformerClassifier(20, d_model=16, num_heads=2, num_layers=3, ff_dim=8).eval()
    ids = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])
    maps = model.attention_maps(ids)
    assert len(maps) == 3 and maps[0].shape == (2, 2, 4, 4)
    assert torch.all(maps[1][1, :, :, 2:] == 0)  # no query looks at padding
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(2, 2, 4))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), model(ids, torch.tensor([3, 2])))
