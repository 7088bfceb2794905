import math

import torch
from torch.nn import functional as F

from nlpcourse.exercises import ch08


def test_embedding_savings(capsys):
    assert ch08.check_embedding_savings(30_000 * 4_096 - (30_000 * 128 + 128 * 4_096))
    assert not ch08.check_embedding_savings(30_000 * 4_096)
    assert not ch08.check_embedding_savings(None)
    assert "Not answered" in capsys.readouterr().out


def test_distillation_loss_check():
    student, teacher, labels = ch08.exercise_logits()
    t, alpha = ch08.EXERCISE_TEMPERATURE, ch08.EXERCISE_ALPHA
    p = F.softmax(teacher / t, dim=-1)
    kl = (p * (p.log() - F.log_softmax(student / t, dim=-1))).sum(-1).mean()
    value = alpha * t * t * kl + (1 - alpha) * F.cross_entropy(student, labels)
    assert ch08.check_distillation_loss(value)
    assert ch08.check_distillation_loss(float(value))
    assert not ch08.check_distillation_loss(
        alpha * kl + (1 - alpha) * F.cross_entropy(student, labels)
    )
    assert not ch08.check_distillation_loss("soon")
    assert not ch08.check_distillation_loss(None)
    assert isinstance(value, torch.Tensor)


def test_exact_test_check():
    assert ch08.check_exact_test(70, 1 / 70)
    assert not ch08.check_exact_test(70, 0.05)
    assert not ch08.check_exact_test(math.comb(8, 2), 1 / 28)
    assert not ch08.check_exact_test(70, None)
    assert not ch08.check_exact_test(None, None)
