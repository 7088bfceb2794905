import torch
from torch.nn import functional as F

from nlpcourse.data.splits import UNLABELLED
from nlpcourse.exercises import ch08


def test_embedding_savings(capsys):
    assert ch08.check_embedding_savings(30_000 * 4_096 - (30_000 * 128 + 128 * 4_096))
    assert not ch08.check_embedding_savings(30_000 * 4_096)
    capsys.readouterr()
    assert ch08.check_embedding_savings(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_unanswered_build_checks_are_silent(capsys):
    capsys.readouterr()
    assert ch08.check_make_student(None) is None
    assert ch08.check_safe_kd(None) is None
    assert ch08.check_hidden_label_loss(None) is None
    assert ch08.check_hidden_label_loss(...) is None
    assert capsys.readouterr().out == ""


def test_hidden_label_loss_check(capsys):
    def by_hand(student, teacher, labels, t, alpha):
        log_q = F.log_softmax(student / t, dim=-1)
        log_p = F.log_softmax(teacher / t, dim=-1)
        kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
        ce = F.cross_entropy(student, labels, ignore_index=UNLABELLED, reduction="sum")
        return alpha * t**2 * kl + (1 - alpha) * ce / len(labels)

    assert ch08.check_hidden_label_loss(by_hand)
    assert "Correct" in capsys.readouterr().out

    def mean_over_labelled(student, teacher, labels, t, alpha):  # a different loss
        log_q = F.log_softmax(student / t, dim=-1)
        log_p = F.log_softmax(teacher / t, dim=-1)
        kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
        return alpha * t**2 * kl + (1 - alpha) * F.cross_entropy(student, labels)

    assert not ch08.check_hidden_label_loss(mean_over_labelled)
    assert "divided by B" in capsys.readouterr().out

    def reads_minus_100(student, teacher, labels, t, alpha):
        return F.nll_loss(F.log_softmax(student, -1), labels.clamp(min=0)) * torch.nan

    assert not ch08.check_hidden_label_loss(reads_minus_100)
    assert "not finite" in capsys.readouterr().out
    assert not ch08.check_hidden_label_loss(lambda *args: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
