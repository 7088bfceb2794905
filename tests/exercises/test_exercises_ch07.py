import math

import pytest
import torch
from torch.nn import functional as F

from nlpcourse.config import get_profile
from nlpcourse.exercises.ch07 import (
    aligned_loss,
    check_hard_negative_loss,
    check_recall_at_k,
    check_temperature,
)

N = get_profile().clip_train.batch_size


def test_temperature(capsys):
    right = 1 / math.log((N - 1) / math.expm1(0.1))
    assert aligned_loss(right, N) == pytest.approx(0.1)
    assert check_temperature(right)
    assert not check_temperature(0.07)
    assert not check_temperature(-1.0)
    assert not check_temperature("cold")
    capsys.readouterr()
    assert check_temperature(None) is None
    assert capsys.readouterr().out == ""


def recall_at_k(logits_per_text, k):
    ranks = (logits_per_text > logits_per_text.diag().unsqueeze(1)).sum(dim=1)  # (N,)
    return (ranks < k).float().mean().item()


def test_recall_at_k(capsys):
    assert check_recall_at_k(recall_at_k)
    assert "agrees with the reference" in capsys.readouterr().out
    columns = lambda logits, k: recall_at_k(logits.T, k)  # noqa: E731  images over captions
    assert not check_recall_at_k(columns)
    assert not check_recall_at_k(lambda logits, k: recall_at_k(logits, 1))  # ignores k
    assert not check_recall_at_k(lambda logits, k: logits[0, 0])
    assert not check_recall_at_k(lambda logits, k: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert check_recall_at_k(None) is None


def negclip(image_embeds, text_embeds, hard_embeds, logit_scale):
    images, texts, hard = (F.normalize(v, dim=-1) for v in (image_embeds, text_embeds, hard_embeds))
    targets = torch.arange(len(images))
    to_text = F.cross_entropy(logit_scale * images @ torch.cat([texts, hard]).T, targets)
    to_image = F.cross_entropy(logit_scale * texts @ images.T, targets)
    return (to_text + to_image) / 2


def both_directions(image_embeds, text_embeds, hard_embeds, logit_scale):
    """A slip: the hard negatives also join the images' softmax (they are captions, not images)."""
    images, texts, hard = (F.normalize(v, dim=-1) for v in (image_embeds, text_embeds, hard_embeds))
    targets = torch.arange(len(images))
    to_text = F.cross_entropy(logit_scale * images @ torch.cat([texts, hard]).T, targets)
    to_image = F.cross_entropy(logit_scale * texts @ torch.cat([images, hard]).T, targets)
    return (to_text + to_image) / 2


def test_hard_negative_loss(capsys):
    assert check_hard_negative_loss(negclip)
    assert "Correct" in capsys.readouterr().out
    plain = lambda i, t, h, s: negclip(i, t, t[:0], s)  # noqa: E731  no hard negatives
    assert not check_hard_negative_loss(plain)
    assert "plain CLIP loss" in capsys.readouterr().out
    assert not check_hard_negative_loss(both_directions)
    unnormalised = lambda i, t, h, s: negclip(i * 1, t * 1, h * 1, s) * 0 + (i @ t.T).sum()  # noqa: E731
    assert not check_hard_negative_loss(unnormalised)
    assert not check_hard_negative_loss(lambda *args: [][1])
    assert "IndexError" in capsys.readouterr().out
    assert check_hard_negative_loss(None) is None
