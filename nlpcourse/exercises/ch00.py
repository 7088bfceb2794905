"""Checks for notebook 00 (setup)."""

from __future__ import annotations

from nlpcourse.config import get_profile
from nlpcourse.exercises import unanswered, verdict


def check_full_bert(answer: str | None) -> bool:
    """Exercise 1: the checkpoint id that plays BERT's role in the ``full`` profile."""
    if unanswered(answer, "give the checkpoint id as a string"):
        return False
    expected = get_profile("full").bert
    return verdict(
        str(answer).strip() == expected,
        f"the full profile fine-tunes {expected}, the article's checkpoint.",
        "read it from get_profile('full') rather than typing it.",
    )


def check_quick_agnews_rows(train_rows: int | None, heldout_rows: int | None) -> bool:
    """Exercise 2: rows notebook 06 trains and scores on in ``quick`` (80/20 of 7,600)."""
    if unanswered(train_rows, "give the training and held-out row counts"):
        return False
    test_size = get_profile("quick").agnews.test_size
    heldout = round(7_600 * test_size)
    return verdict(
        (train_rows, heldout_rows) == (7_600 - heldout, heldout),
        f"{7_600 - heldout:,} rows to train on and {heldout:,} held out.",
        f"7,600 rows split with test_size={test_size}: how many go to each side?",
    )
