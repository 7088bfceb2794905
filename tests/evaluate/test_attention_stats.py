import math

import pytest
import torch

from nlpcourse.evaluate.attention_stats import (
    head_statistics,
    layer_head_statistics,
    spread_across_heads,
)


def test_head_statistics_on_known_patterns():
    L = 4
    uniform = torch.full((L, L), 1 / L)
    identity = torch.eye(L)
    previous = torch.zeros(L, L)
    previous[0, 0] = 1.0
    for i in range(1, L):
        previous[i, i - 1] = 1.0
    weights = torch.stack([uniform, identity, previous])[None]  # (1, 3, L, L)
    stats = head_statistics(weights, torch.ones(1, L))
    assert stats["entropy"].shape == (1, 3)
    torch.testing.assert_close(stats["entropy"][0], torch.tensor([math.log(L), 0.0, 0.0]))
    # uniform over 4: mean |i-j| over all pairs = (0+1+2+3 + 1+0+1+2 + 2+1+0+1 + 3+2+1+0)/16
    torch.testing.assert_close(stats["distance"][0], torch.tensor([20 / 16, 0.0, 3 / 4]))


def test_head_statistics_skips_padding_queries():
    weights = torch.zeros(1, 1, 3, 3)
    weights[0, 0, :, 0] = 1.0  # everyone looks at token 0
    weights[0, 0, 2] = torch.tensor([0.5, 0.5, 0.0])  # a padding query with other weights
    stats = head_statistics(weights, torch.tensor([[1, 1, 0]]))
    torch.testing.assert_close(stats["entropy"], torch.zeros(1, 1))
    torch.testing.assert_close(stats["distance"], torch.tensor([[0.5]]))  # (0 + 1) / 2


def test_layer_head_statistics_and_spread():
    torch.manual_seed(0)
    maps = [torch.rand(5, 2, 3, 3).softmax(-1) for _ in range(4)]
    stats = layer_head_statistics(maps, torch.ones(5, 3))
    assert stats["entropy"].shape == (5, 4, 2)
    spread = spread_across_heads(stats["entropy"])
    assert spread["head_means"].shape == (4, 2)
    assert spread["between_heads_sd"].shape == (4,)
    assert (spread["standard_error"] > 0).all()


def test_errors_are_clear():
    with pytest.raises(ValueError, match="self-attention"):
        head_statistics(torch.rand(2, 3, 4), torch.ones(2, 4))
    with pytest.raises(ValueError, match="keep"):
        head_statistics(torch.rand(2, 1, 4, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match="one"):
        layer_head_statistics([], torch.ones(2, 4))
    with pytest.raises(ValueError, match="sentences"):
        spread_across_heads(torch.rand(1, 2, 3))
