"""Hugging Face's load reports, warnings and progress bars, silenced while the course loads data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hf_quiet() -> Iterator[None]:
    """Inside: no transformers load report or warning, no "Map:" or "Loading weights" bar.

    Errors still show. Each setting is put back as it was on the way out, so a notebook that
    shows a load report on purpose (notebook 03) still can.
    """
    import datasets
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_bars = hf_logging.is_progress_bar_enabled()
    datasets_bars = not datasets.are_progress_bars_disabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if hf_bars:
            hf_logging.enable_progress_bar()
        if datasets_bars:
            datasets.enable_progress_bars()
