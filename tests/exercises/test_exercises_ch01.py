import torch

from nlpcourse.exercises.ch01 import (
    check_frozen_trainable,
    check_lstm_parameters,
    check_padding_invariant,
)


def test_success_messages_do_not_restate_the_answer(capsys):
    assert check_lstm_parameters(24_832, 25_088)
    assert check_frozen_trainable(74_881)
    out = capsys.readouterr().out
    for number in ("24,832", "24832", "25,088", "25088", "74,881", "74881"):
        assert number not in out


class _MeanOfEmbeddings(torch.nn.Module):
    def __init__(self, vocab_size, masked=True):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = torch.nn.Embedding(vocab_size, 4)
        self.head = torch.nn.Linear(4, 1)
        self.masked = masked

    def forward(self, ids):
        mask = (ids != 0).unsqueeze(-1).float() if self.masked else torch.ones(*ids.shape, 1)
        mean = (self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(mean)


def test_check_padding_invariant(capsys):
    assert check_padding_invariant(_MeanOfEmbeddings(100))
    assert not check_padding_invariant(_MeanOfEmbeddings(100, masked=False))
    assert "padding changes" in capsys.readouterr().out
    assert not check_padding_invariant(lambda ids: torch.zeros(len(ids), 1))
    assert "same output" in capsys.readouterr().out
    assert not check_padding_invariant(lambda ids: ids.float())  # wrong shape
    assert not check_padding_invariant(_MeanOfEmbeddings)  # the class, not an instance
    assert not check_padding_invariant(lambda ids: 1 / 0)
    assert not check_padding_invariant(None)


def test_packed_bilstm_is_not_padding_invariant_without_lengths():
    from nlpcourse.models.bilstm import BiLSTMClassifier

    torch.manual_seed(0)
    assert not check_padding_invariant(BiLSTMClassifier(100, 8, 8, 8))
