import copy

import torch
from torch import nn
from torch.nn import functional as F

from nlpcourse.exercises.ch07 import check_multi_positive_loss
from nlpcourse.exercises.ch08 import check_make_student, check_safe_kd
from nlpcourse.train import contrastive, distill


def test_multi_positive_loss_check(capsys):
    capsys.readouterr()
    assert not check_multi_positive_loss(None)
    assert capsys.readouterr().out == ""  # unanswered: silent

    def by_hand(logits, captions):
        same = torch.tensor([[a == b for b in captions] for a in captions])
        positives = logits.masked_fill(~same, float("-inf"))
        rows = logits.logsumexp(1) - positives.logsumexp(1)
        cols = logits.logsumexp(0) - positives.logsumexp(0)
        return (rows.mean() + cols.mean()) / 2

    assert check_multi_positive_loss(by_hand)
    out = capsys.readouterr().out
    assert "Correct" in out and "logsumexp" not in out
    assert not check_multi_positive_loss(
        lambda logits, captions: contrastive.clip_loss_from_logits(logits)
    )
    assert "repeated captions" in capsys.readouterr().out
    assert not check_multi_positive_loss(lambda logits, captions: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_make_student_check(capsys):
    assert not check_make_student(None)

    def by_hand(teacher):
        student = copy.deepcopy(teacher)
        layers = student.bert.encoder.layer
        student.bert.encoder.layer = nn.ModuleList(layers[i] for i in range(0, len(layers), 2))
        student.config.num_hidden_layers = len(student.bert.encoder.layer)
        return student

    assert check_make_student(by_hand)
    assert check_make_student(distill.make_student)
    capsys.readouterr()

    def first_half(teacher):
        return distill.make_student(teacher, [0, 1, 2])

    assert not check_make_student(first_half)
    assert "teacher layer 2j" in capsys.readouterr().out

    def in_place(teacher):
        teacher.bert.encoder.layer = teacher.bert.encoder.layer[::2]
        return teacher

    assert not check_make_student(in_place)
    assert "teacher changed" in capsys.readouterr().out


def test_safe_kd_check(capsys):
    assert not check_safe_kd(None)

    def safe(student, teacher, t):
        log_s = F.log_softmax(student / t, dim=-1)
        log_t = F.log_softmax(teacher / t, dim=-1)
        return t**2 * F.kl_div(log_s, log_t, reduction="batchmean", log_target=True)

    def naive(student, teacher, t):
        p = F.softmax(teacher / t, dim=-1)
        return t**2 * (p * (p.log() - F.log_softmax(student / t, dim=-1))).sum(-1).mean()

    assert check_safe_kd(safe)
    capsys.readouterr()
    assert not check_safe_kd(naive)
    assert "not finite" in capsys.readouterr().out
    assert not check_safe_kd(lambda s, t, temperature: safe(s, t, temperature) / temperature**2)
    assert "T²" in capsys.readouterr().out
