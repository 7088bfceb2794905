"""Checks for the notebooks' exercises: each ``check_…`` says whether an answer is right.

One module per notebook (``ch01`` for ``01_keras_bilstm.ipynb`` …). A check never raises on a
wrong answer: it prints a one-line verdict with a hint and returns True or False, so a student
can try again. An unanswered exercise (``None`` or ``...``) prints nothing and returns None,
which a notebook does not display: the cell stays silent until the student answers.

Verdicts speak the course's language (``nlpcourse.config.course_language``): a check gives
each verdict its English text and, as ``praise_zh``/``hint_zh``, its Simplified-Chinese twin,
which a notebook of the Chinese edition (``notebooks/zh/``, or ``NLPCOURSE_LANG=zh``) prints.
"""

from __future__ import annotations

from typing import Any

from nlpcourse.config import course_language


def verdict(passed: bool, praise: str, hint: str, praise_zh: str = "", hint_zh: str = "") -> bool:
    """Print a one-line verdict (with a hint when wrong) and return ``passed``.

    In the Chinese edition the ``_zh`` text is printed when given, else the English one.
    """
    if course_language() == "zh":
        if passed and praise_zh:
            print(f"✅ 正确：{praise_zh}")
            return passed
        if not passed and hint_zh:
            print(f"❌ 还不对：{hint_zh}")
            return passed
    print(f"✅ Correct: {praise}" if passed else f"❌ Not yet: {hint}")
    return passed


def raised(error: Exception) -> bool:
    """The verdict for a student's function that raised: what it raised, in one line."""
    name = type(error).__name__
    return verdict(
        False,
        "",
        f"the function raised {name}: {error}",
        hint_zh=f"函数抛出了 {name}：{error}",
    )


def unanswered(answer: Any, what: str) -> bool:
    """True, silently, when the student has not answered yet (``None`` or ``...``).

    A check then returns None, so an unanswered exercise cell shows nothing; ``what`` says
    what the answer should be, for the reader of the check's code.
    """
    del what  # documents the expected answer at the call site; never printed
    return answer is None or answer is Ellipsis
