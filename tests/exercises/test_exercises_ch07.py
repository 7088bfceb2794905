import math

import pytest

from nlpcourse.config import get_profile
from nlpcourse.exercises.ch07 import (
    aligned_loss,
    check_random_loss,
    check_shape_swap,
    check_temperature,
)

N = get_profile().clip_train.batch_size


def test_random_loss(capsys):
    assert check_random_loss(math.log(N))
    assert not check_random_loss(1 / N)
    assert not check_random_loss("lots")
    capsys.readouterr()
    assert not check_random_loss(None)
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_temperature(capsys):
    right = 1 / math.log((N - 1) / math.expm1(0.1))
    assert aligned_loss(right, N) == pytest.approx(0.1)
    assert check_temperature(right)
    assert not check_temperature(0.07)
    assert not check_temperature(-1.0)
    assert not check_temperature("cold")
    capsys.readouterr()
    assert not check_temperature(None)
    assert capsys.readouterr().out == ""  # unanswered: silent


def right_swap(caption):
    words = caption.split()
    words[2], words[9] = words[9], words[2]
    return " ".join(words)


def colour_swap(caption):
    words = caption.split()
    words[1], words[8] = words[8], words[1]
    return " ".join(words)


def broken(caption):
    raise IndexError("oops")


def test_shape_swap(capsys):
    assert check_shape_swap(right_swap)
    assert not check_shape_swap(colour_swap)
    assert not check_shape_swap(lambda caption: caption)
    assert not check_shape_swap(broken)
    assert "raised IndexError" in capsys.readouterr().out
    assert not check_shape_swap(None)
