import torch

from nlpcourse.exercises import ch03, ch04
from tests.conftest import needs_hub_cache


@needs_hub_cache
def test_check_segment_b_length(capsys):
    # "i loved every minute ." is 5 pieces, plus the closing [SEP]
    assert ch03.check_segment_b_length(6) is True
    assert ch03.check_segment_b_length(5) is False
    assert "[SEP]" in capsys.readouterr().out
    assert ch03.check_segment_b_length(11) is False
    capsys.readouterr()
    assert ch03.check_segment_b_length(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent


@needs_hub_cache
def test_check_head_parameters(capsys):
    from transformers import AutoConfig

    from nlpcourse.config import get_profile

    hidden = AutoConfig.from_pretrained(get_profile().bert).hidden_size
    assert ch03.check_head_parameters(hidden * 4 + 4) is True
    assert ch03.check_head_parameters(hidden * 4) is False
    assert "bias" in capsys.readouterr().out
    assert ch03.check_head_parameters(None) is None


def test_check_loss_by_hand(capsys):
    logits = torch.tensor(ch03.EXERCISE_LOGITS)
    labels = torch.tensor(ch03.EXERCISE_LABELS)
    log_probs = logits.log_softmax(-1)[torch.arange(3), labels]
    assert ch03.check_loss_by_hand(-log_probs.mean()) is True
    assert ch03.check_loss_by_hand(float(-log_probs.mean())) is True
    assert ch03.check_loss_by_hand(-log_probs.sum()) is False
    assert "sum" in capsys.readouterr().out
    assert ch03.check_loss_by_hand(0.5) is False
    assert ch03.check_loss_by_hand("a lot") is False
    assert ch03.check_loss_by_hand(None) is None


def test_check_local_mask(capsys):
    positions = torch.arange(6)
    band = (positions[:, None] - positions[None, :]).abs() <= 1
    assert ch04.check_local_mask(band) is True
    assert ch04.check_local_mask(~band) is False
    assert "inverted" in capsys.readouterr().out
    assert ch04.check_local_mask(band.float()) is False
    assert ch04.check_local_mask(torch.ones(6, 6, dtype=torch.bool).tril()) is False
    assert ch04.check_local_mask(torch.ones(5, 5, dtype=torch.bool)) is False
    capsys.readouterr()
    assert ch04.check_local_mask(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent
