import torch

from nlpcourse.exercises.ch01 import (
    check_accuracy_from_logits,
    check_frozen_trainable,
    check_lstm_parameters,
)
from nlpcourse.exercises.ch02 import check_fixed_padding, check_padding_mask, check_vocab
from nlpcourse.text.vocab import Vocabulary

TOKENS = [["a", "b", "b"], ["b", "c", "a"], ["d"]]


def test_check_lstm_parameters(capsys):
    assert check_lstm_parameters(24_832, 25_088)
    assert not check_lstm_parameters(25_088, 24_832)
    assert "swapped" in capsys.readouterr().out
    assert not check_lstm_parameters(12_416, 12_544)  # one direction only
    assert not check_lstm_parameters(None, None)
    assert "Not answered" in capsys.readouterr().out


def test_check_frozen_trainable():
    assert check_frozen_trainable(74_881)
    assert not check_frozen_trainable(714_881)
    assert not check_frozen_trainable(640_000)
    assert not check_frozen_trainable(None)


def test_check_accuracy_from_logits():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    labels = [1, 0, 0, 0]
    assert check_accuracy_from_logits(0.75, logits, labels)
    assert not check_accuracy_from_logits(0.25, logits, labels)
    assert not check_accuracy_from_logits(75.0, logits, labels)
    assert not check_accuracy_from_logits(None, logits, labels)
    two_class = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert check_accuracy_from_logits(1.0, two_class, torch.tensor([1, 0]))


def test_check_vocab():
    right = Vocabulary.build(TOKENS, max_size=4, min_freq=2)
    assert check_vocab(right, TOKENS, min_freq=2, max_size=4)
    assert not check_vocab(Vocabulary.build(TOKENS), TOKENS, min_freq=2, max_size=4)
    assert not check_vocab(Vocabulary(["a", "b"]), TOKENS, min_freq=2, max_size=4)  # order
    assert not check_vocab(["a", "b"], TOKENS)
    assert not check_vocab(None, TOKENS)


def test_check_padding_mask():
    lengths = torch.tensor([2, 1, 3])
    mask = torch.arange(3)[None, :] < lengths[:, None]
    assert check_padding_mask(mask, lengths)
    assert check_padding_mask(mask.long(), lengths)
    assert not check_padding_mask(~mask, lengths)
    assert not check_padding_mask(mask[:, :2], lengths)
    assert not check_padding_mask(None, lengths)


def test_check_fixed_padding(capsys):
    lengths = [3, 7, 10]
    assert check_fixed_padding(2 + 0 + 0, lengths, max_len=5)
    assert not check_fixed_padding(2 - 2 - 5, lengths, max_len=5)
    assert "cut" in capsys.readouterr().out
    assert not check_fixed_padding(None, lengths, max_len=5)
