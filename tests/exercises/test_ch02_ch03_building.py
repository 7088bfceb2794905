"""The building exercises of notebooks 02 and 03 (third edition): right answers pass, wrong fail."""

import pytest
import torch

from nlpcourse.exercises import ch02, ch03
from nlpcourse.text.batching import PadCollate, padding_mask


def good_collate(examples, pad_id):
    ids, lengths, labels = PadCollate(pad_id)(examples)
    return ids, lengths, padding_mask(lengths), labels


def test_mask_collate_accepts_the_package_collate(capsys):
    assert ch02.check_mask_collate(good_collate) is True
    assert "Correct" in capsys.readouterr().out


def test_unanswered_building_checks_are_silent(capsys):
    for check in (ch02.check_mask_collate, ch02.check_packed_batch_sizes):
        assert check(None) is None
    assert ch03.check_cls_head(None) is None and ch03.check_toy_wordpiece(None) is None
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda ex, pad: None, "returns None"),
        (lambda ex, pad: good_collate(ex, pad)[:3], "4 tensors"),
        (
            lambda ex, pad: (
                *good_collate(ex, pad)[:2],
                ~good_collate(ex, pad)[2],
                good_collate(ex, pad)[3],
            ),
            "inverted",
        ),
        (lambda ex, pad: good_collate(ex, 0), "ids differs"),  # ignores pad_id
        (
            lambda ex, pad: (*good_collate(ex, pad)[:3], torch.zeros(len(ex), dtype=torch.long)),
            "labels differs",
        ),
        (lambda ex, pad: (*good_collate(ex, pad)[:2], torch.ones(9, 9), torch.ones(1)), "shape"),
        (lambda ex, pad: 1 / 0, "ZeroDivisionError"),
        (good_collate(ch02._random_examples(2, 0), 0), "the function itself"),
    ],
)
def test_mask_collate_rejects_wrong_answers(capsys, answer, message):
    assert ch02.check_mask_collate(answer) is False
    assert message in capsys.readouterr().out


def test_mask_collate_mask_must_follow_the_lengths(capsys):
    def shifted(ex, pad):
        ids, lengths, mask, labels = good_collate(ex, pad)
        return ids, lengths, padding_mask(lengths - 1, mask.shape[1]), labels

    assert ch02.check_mask_collate(shifted) is False
    assert "mask differs" in capsys.readouterr().out


def test_packed_batch_sizes(capsys):
    def right(lengths):
        return [sum(n > t for n in lengths) for t in range(max(lengths))]

    assert ch02.check_packed_batch_sizes(right) is True
    assert "Correct" in capsys.readouterr().out
    assert ch02.check_packed_batch_sizes(lambda ls: sorted(ls, reverse=True)) is False
    assert "count" in capsys.readouterr().out
    assert ch02.check_packed_batch_sizes(lambda ls: [len(ls)] * max(ls)) is False
    assert "length is above t" in capsys.readouterr().out
    assert ch02.check_packed_batch_sizes(lambda ls: [len(ls)]) is False
    assert "one count per time step" in capsys.readouterr().out
    assert ch02.check_packed_batch_sizes(lambda ls: ls[10]) is False
    assert "IndexError" in capsys.readouterr().out


class PooledHead(torch.nn.Module):
    def __init__(self, body, num_labels, pooled=True):
        super().__init__()
        self.body, self.pooled = body, pooled
        self.dropout = torch.nn.Dropout(body.config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(body.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        out = self.body(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        vector = out.pooler_output if self.pooled else out.last_hidden_state[:, 0]
        return self.classifier(self.dropout(vector))


def test_cls_head_accepts_the_pooled_head(capsys):
    assert ch03.check_cls_head(PooledHead) is True
    assert "Correct" in capsys.readouterr().out


def test_cls_head_rejects_wrong_heads(capsys):

    class Skeleton(torch.nn.Module):
        def __init__(self, body, num_labels):
            super().__init__()

    assert ch03.check_cls_head(Skeleton) is False
    assert "fill in ClsClassifier" in capsys.readouterr().out
    assert ch03.check_cls_head(lambda body, n: PooledHead(body, n, pooled=False)) is False
    assert "pooler" in capsys.readouterr().out
    assert ch03.check_cls_head(lambda body, n: PooledHead(body, 2)) is False
    assert "weight shape" in capsys.readouterr().out
    assert ch03.check_cls_head(lambda body, n: torch.nn.Sequential(torch.nn.Linear(2, 2))) is False
    assert "self.classifier" in capsys.readouterr().out

    class Broken(PooledHead):
        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            return self.classifier(input_ids)

    assert ch03.check_cls_head(Broken) is False
    assert "raised" in capsys.readouterr().out

    class NoMask(PooledHead):  # reads the pads: different logits on the padded row
        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            return super().forward(input_ids, None, token_type_ids)

    assert ch03.check_cls_head(NoMask) is False
    assert "pooled [CLS]" in capsys.readouterr().out


def right_toy_vocab():
    pieces = [*ch03.TOY_SPECIALS, "play", "re", "##play", "##ing", "##ed", "##er"]
    return {piece: i for i, piece in enumerate(pieces)}


def test_toy_wordpiece(capsys):
    assert ch03.check_toy_wordpiece(right_toy_vocab()) is True
    assert "Correct" in capsys.readouterr().out
    greedy_trap = {**right_toy_vocab(), "replay": 11}
    assert ch03.check_toy_wordpiece(greedy_trap) is False
    assert "longest piece" in capsys.readouterr().out
    extra = {**right_toy_vocab(), "zebra": 11}
    assert ch03.check_toy_wordpiece(extra) is False
    assert "fewer will do" in capsys.readouterr().out
    no_specials = {"play": 0, "##ing": 1}
    assert ch03.check_toy_wordpiece(no_specials) is False
    assert "special tokens" in capsys.readouterr().out
    gaps = {**right_toy_vocab(), "##er": 40}
    assert ch03.check_toy_wordpiece(gaps) is False
    assert "no gaps" in capsys.readouterr().out
    assert ch03.check_toy_wordpiece(["play"]) is False
    assert "dict" in capsys.readouterr().out
