import torch

from nlpcourse.exercises.ch00 import check_matmul_on, check_quick_agnews_rows


def test_check_matmul_on_accepts_a_right_function(capsys):
    assert check_matmul_on(lambda a, b, device: (a.to(device) @ b.to(device)).cpu())
    out = capsys.readouterr().out
    assert "Correct" in out


def test_check_matmul_on_rejects_wrong_functions(capsys):
    assert not check_matmul_on(None)
    assert "Not answered" in capsys.readouterr().out
    assert not check_matmul_on(torch.zeros(2))
    assert not check_matmul_on(lambda a, b, device: a * b)  # raises or wrong shape
    assert not check_matmul_on(lambda a, b, device: (a @ b).numpy())
    assert "tensor" in capsys.readouterr().out
    assert not check_matmul_on(lambda a, b, device: b.T @ a.T)
    assert not check_matmul_on(lambda a, b, device: (a @ b) + 1)
    assert "differ" in capsys.readouterr().out


def test_check_quick_agnews_rows_does_not_restate_the_answer(capsys):
    assert check_quick_agnews_rows(6_080, 1_520)
    out = capsys.readouterr().out
    assert "6,080" not in out and "6080" not in out and "1,520" not in out and "1520" not in out
    assert not check_quick_agnews_rows(1_520, 6_080)
    assert not check_quick_agnews_rows(None, None)
