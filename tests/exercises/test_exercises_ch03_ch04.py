import torch

from nlpcourse.exercises import ch04


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
