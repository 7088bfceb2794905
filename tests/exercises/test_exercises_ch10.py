"""The checks of notebook 10's exercises, with right and wrong answers."""

from __future__ import annotations

from nlpcourse.exercises.ch10 import check_effective_batch, check_steps_per_epoch
from nlpcourse.train.parallel import effective_batch_size, steps_per_epoch


def test_check_effective_batch(capsys):
    assert check_effective_batch(None) is None
    assert check_effective_batch(lambda c, a: None) is None  # the notebook's stub: silent
    assert capsys.readouterr().out == ""
    times_machines = lambda c, a: (  # noqa: E731
        a["per_device_batch_size"] * c["num_processes"] * c["num_machines"]
        * a["gradient_accumulation_steps"]
    )  # fmt: skip
    assert not check_effective_batch(times_machines)
    assert not check_effective_batch(lambda c, a: 1 / 0)
    right = lambda c, a: effective_batch_size(  # noqa: E731
        a["per_device_batch_size"], c["num_processes"], a["gradient_accumulation_steps"]
    )
    capsys.readouterr()
    assert check_effective_batch(right)
    assert "256" not in capsys.readouterr().out


def test_check_steps_per_epoch(capsys):
    assert check_steps_per_epoch(None) is None
    assert check_steps_per_epoch(lambda *sizes: None) is None  # the notebook's stub: silent
    assert capsys.readouterr().out == ""
    floor = lambda rows, b, p, a: rows // (b * p * a)  # noqa: E731
    assert not check_steps_per_epoch(floor)
    no_padding = lambda rows, b, p, a: -(-(rows // (b * p)) // a)  # noqa: E731
    assert not check_steps_per_epoch(no_padding)
    one_ceiling = lambda rows, b, p, a: -(-rows // (b * p * a))  # noqa: E731
    assert check_steps_per_epoch(one_ceiling), "ceil(ceil(x / m) / n) = ceil(x / mn)"
    assert not check_steps_per_epoch(lambda *sizes: 1 / 0)
    launched = {"rows": {"train": 96}, "per_device_batch_size": 4, "num_processes": 2,
                "gradient_accumulation_steps": 3, "steps_per_epoch": 4}  # fmt: skip
    assert check_steps_per_epoch(steps_per_epoch, launched)
    assert "launch" in capsys.readouterr().out
    assert not check_steps_per_epoch(steps_per_epoch, {**launched, "steps_per_epoch": 5})
