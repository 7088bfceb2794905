import torch
import torch.nn.functional as F
from torch import nn

from nlpcourse.exercises import ch04
from nlpcourse.models.attention import merge_heads, split_heads


class Fused(nn.Module):
    def __init__(self, d_model, num_heads, swap=False):
        super().__init__()
        self.h, self.swap = num_heads, swap
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if self.swap:
            q, k = k, v
        q, k, v = (split_heads(t, self.h) for t in (q, k, v))
        return self.out(merge_heads(F.scaled_dot_product_attention(q, k, v)))


def test_check_fused_mha(capsys):
    assert ch04.check_fused_mha(Fused) is True
    out = capsys.readouterr().out
    assert "✅" in out
    assert ch04.check_fused_mha(lambda d, h: Fused(d, h, swap=True)) is False
    assert "differs" in capsys.readouterr().out
    capsys.readouterr()
    assert ch04.check_fused_mha(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_check_fused_mha_reports_missing_attributes_and_errors(capsys):
    class NoQkv(nn.Module):
        def __init__(self, d_model, num_heads):
            super().__init__()

    assert ch04.check_fused_mha(NoQkv) is False
    assert "qkv" in capsys.readouterr().out

    class Broken(Fused):
        def forward(self, x):
            raise RuntimeError("boom")

    assert ch04.check_fused_mha(Broken) is False
    assert "boom" in capsys.readouterr().out


def distance(weights):
    positions = torch.arange(weights.shape[-1])
    offsets = (positions[:, None] - positions[None, :]).abs()  # (L, L)
    return (weights * offsets).sum(-1).mean(-1)  # (heads,)


def test_check_attention_distance(capsys):
    assert ch04.check_attention_distance(distance) is True
    assert "✅" in capsys.readouterr().out

    def signed(weights):  # no absolute value: offsets cancel
        positions = torch.arange(weights.shape[-1])
        return (weights * (positions[:, None] - positions[None, :])).sum(-1).mean(-1)

    assert ch04.check_attention_distance(signed) is False
    assert "|i − j|" in capsys.readouterr().out
    assert ch04.check_attention_distance(lambda w: distance(w).sum()) is False
    assert "one number per head" in capsys.readouterr().out
    assert ch04.check_attention_distance(lambda w: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert ch04.check_attention_distance(None) is None
    assert capsys.readouterr().out == ""


def test_success_messages_do_not_restate_answers(capsys):
    positions = torch.arange(6)
    ch04.check_local_mask((positions[:, None] - positions[None, :]).abs() <= 1)
    out = capsys.readouterr().out
    assert "width" not in out and "neighbour" not in out
