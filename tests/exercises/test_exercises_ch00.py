import math

import torch

from nlpcourse.exercises.ch00 import check_split_sizes, check_to_device, reference_split_sizes
from nlpcourse.train.loop import to_device


def test_check_to_device_accepts_the_package_helper(capsys):
    assert check_to_device(to_device)
    assert "Correct" in capsys.readouterr().out


def test_check_to_device_rejects_wrong_functions(capsys):
    capsys.readouterr()
    assert check_to_device(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent
    assert check_to_device(to_device({}, "cpu")) is False
    assert "function itself" in capsys.readouterr().out
    assert check_to_device(lambda batch, device: batch) is False  # moves nothing
    assert "not on meta" in capsys.readouterr().out
    assert check_to_device(lambda batch, device: {k: v for k, v in batch.items()}) is False

    def top_level_only(batch, device):
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def tuples_as_lists(batch, device):
        moved = to_device(batch, device)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in moved.items()}

    assert check_to_device(top_level_only) is False
    assert "extra" in capsys.readouterr().out
    assert check_to_device(tuples_as_lists) is False
    assert "tuple" in capsys.readouterr().out
    assert check_to_device(lambda b, d: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def ceil_sizes(n_rows, test_size, val_size, train_rows=None):
    test = math.ceil(n_rows * test_size)
    validation = math.ceil((n_rows - test) * val_size)
    train = n_rows - test - validation
    return (train if train_rows is None else min(train, train_rows)), validation, test


def test_reference_split_sizes_is_notebook_06s_quick_split():
    assert reference_split_sizes(7_600, 0.2, 0.2, 2_400) == (2_400, 1_216, 1_520)
    assert reference_split_sizes(7_600, 0.2, 0.2) == (4_864, 1_216, 1_520)


def test_check_split_sizes(capsys):
    assert check_split_sizes(ceil_sizes)
    assert "Correct" in capsys.readouterr().out
    capsys.readouterr()
    assert check_split_sizes(None) is None
    assert capsys.readouterr().out == ""
    assert check_split_sizes(lambda *a: ceil_sizes(*a)[::-1]) is False
    assert "order" in capsys.readouterr().out
    rounded = lambda n, t, v, r=None: (0, round((n - round(n * t)) * v), round(n * t))  # noqa: E731
    assert check_split_sizes(rounded) is False
    assert check_split_sizes(lambda n, t, v, r=None: (int(n * (1 - t)), 0, int(n * t))) is False
    assert "remains" in capsys.readouterr().out
    assert check_split_sizes(lambda *a: None) is False
    assert "three whole numbers" in capsys.readouterr().out
    assert check_split_sizes(3) is False
