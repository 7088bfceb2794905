import math

import numpy as np
import torch

from nlpcourse.exercises.ch05 import check_cosine_lambda, check_linear_lrs, check_max_pool
from nlpcourse.exercises.ch06 import check_macro_f1_from_confusion, check_optimizer_steps
from nlpcourse.models.pooling import mean_pool
from nlpcourse.train.optim import lr_curve


def right_max_pool(hidden, mask):
    filled = hidden.masked_fill(mask.unsqueeze(-1) == 0, torch.finfo(hidden.dtype).min)
    return filled.max(dim=1).values


def naive_max_pool(hidden, mask):
    return hidden.max(dim=1).values


def test_check_max_pool(capsys):
    assert check_max_pool(right_max_pool)
    assert not check_max_pool(naive_max_pool)
    assert not check_max_pool(mean_pool)
    assert not check_max_pool(lambda h, m: h[:, 0, :2])
    assert not check_max_pool(lambda h, m: 1 / 0)
    capsys.readouterr()
    assert not check_max_pool(None)
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_check_linear_lrs():
    rates = lr_curve("linear", 100, 1000, base_lr=2e-5)
    assert check_linear_lrs(rates[50], rates[775])
    assert not check_linear_lrs(1e-5, 2e-5)
    assert not check_linear_lrs(None, None)


def cosine_lambda(warmup, total):
    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))

    return factor


def test_check_cosine_lambda(capsys):
    assert check_cosine_lambda(cosine_lambda)
    out = capsys.readouterr().out
    assert "Correct" in out and "cos" not in out.split("Correct")[1].lower()
    linear = lambda w, t: lambda s: s / max(1, w) if s < w else max(0.0, (t - s) / max(1, t - w))  # noqa: E731
    assert not check_cosine_lambda(linear)
    assert not check_cosine_lambda(lambda w, t: lambda s: 1 / 0)
    assert not check_cosine_lambda(None)


def test_success_messages_do_not_restate_answers(capsys):
    rates = lr_curve("linear", 100, 1000, base_lr=2e-5)
    assert check_linear_lrs(rates[50], rates[775])
    out = capsys.readouterr().out
    assert "e-05" not in out and "1.0e" not in out and "4.4e" not in out
    assert check_max_pool(right_max_pool)
    assert "-inf" not in capsys.readouterr().out


def test_check_optimizer_steps():
    assert check_optimizer_steps(127)
    assert not check_optimizer_steps(126)
    assert not check_optimizer_steps(None)


def test_check_macro_f1_from_confusion():
    def right(counts):
        tp = np.diag(counts)
        precision = tp / counts.sum(axis=0).clip(min=1)
        recall = tp / counts.sum(axis=1).clip(min=1)
        f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall + 1e-300), 0.0)
        return f1.mean()

    assert check_macro_f1_from_confusion(right)
    assert not check_macro_f1_from_confusion(lambda c: np.trace(c) / c.sum())  # accuracy
    assert not check_macro_f1_from_confusion(lambda c: c["x"])
    assert not check_macro_f1_from_confusion(None)
