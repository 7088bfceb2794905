"""hf_quiet silences Hugging Face's reports and bars inside, and puts every setting back."""

from __future__ import annotations

import datasets
from transformers.utils import logging as hf_logging

from nlpcourse.data.quiet import hf_quiet


def test_hf_quiet_silences_inside_and_restores_after():
    hf_logging.set_verbosity_warning()
    hf_logging.enable_progress_bar()
    datasets.enable_progress_bars()
    with hf_quiet():
        assert hf_logging.get_verbosity() == hf_logging.ERROR
        assert not hf_logging.is_progress_bar_enabled()
        assert datasets.are_progress_bars_disabled()
    assert hf_logging.get_verbosity() == hf_logging.WARNING
    assert hf_logging.is_progress_bar_enabled()
    assert not datasets.are_progress_bars_disabled()


def test_hf_quiet_leaves_disabled_bars_disabled():
    datasets.disable_progress_bars()
    try:
        with hf_quiet():
            pass
        assert datasets.are_progress_bars_disabled()
    finally:
        datasets.enable_progress_bars()


def test_map_inside_prints_no_bar(capfd):
    with hf_quiet():
        datasets.Dataset.from_dict({"x": list(range(5))}).map(lambda row: row)
    assert "Map" not in capfd.readouterr().err
