"""Paired-by-seed comparisons: t interval, Holm's correction, the table's verdicts."""

import math

import pytest
from scipy import stats

from nlpcourse.evaluate.seed_stats import (
    chance_passes,
    holm,
    paired_seed_test,
    seed_comparison_table,
)


def test_paired_seed_test_is_a_one_sample_t_on_the_differences():
    a, b = [0.80, 0.82, 0.85], [0.78, 0.81, 0.80]
    test = paired_seed_test(a, b)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    assert math.isclose(test.mean, sum(diffs) / 3)
    assert math.isclose(test.p, stats.ttest_1samp(diffs, 0).pvalue)
    assert test.low < test.mean < test.high
    with pytest.raises(ValueError, match="at least 2"):
        paired_seed_test([0.8], [0.7])


def test_holm_adjusts_in_order_and_never_below_the_raw_p():
    raw = [0.01, 0.04, 0.03, 0.5]
    adjusted = holm(raw)
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert all(adj >= p for adj, p in zip(adjusted, raw, strict=True))


def test_chance_passes_of_seven_verdicts():
    expected, any_pass = chance_passes(7)
    assert expected == pytest.approx(0.35)
    assert any_pass == pytest.approx(1 - 0.95**7)


def test_table_calls_a_clear_difference_and_not_a_noisy_one():
    table = seed_comparison_table(
        {
            "base": [0.70, 0.72, 0.71],
            "better": [0.80, 0.83, 0.81],
            "noisy": [0.75, 0.66, 0.73],
        },
        {"better": "base", "noisy": "base"},
    )
    assert table.loc["better", "verdict"] == "higher"
    assert table.loc["noisy", "verdict"] == "no measurable difference"
    assert table.loc["base", "verdict"] == ""
    assert list(table.index) == ["base", "better", "noisy"]  # the order given
    assert table.loc["better", "Holm p"] >= table.loc["better", "p"]
