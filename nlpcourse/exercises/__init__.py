"""Checks for the notebooks' exercises: each ``check_…`` says whether an answer is right.

One module per notebook (``ch01`` for ``01_keras_bilstm.ipynb`` …). A check never raises on a
wrong answer: it prints a verdict with a hint and returns True or False, so a student can try
again; an unanswered exercise (``None``) is reported as such.
"""

from __future__ import annotations

from typing import Any


def verdict(passed: bool, praise: str, hint: str) -> bool:
    """Print a one-line verdict (with a hint when wrong) and return ``passed``."""
    print(f"✅ Correct: {praise}" if passed else f"❌ Not yet: {hint}")
    return passed


def unanswered(answer: Any, what: str) -> bool:
    """True (after saying so) when the student has not answered yet."""
    if answer is None or answer is Ellipsis:
        print(f"⏳ Not answered yet: {what}")
        return True
    return False
