import numpy as np
import pytest

from nlpcourse.evaluate.stats import (
    Interval,
    bootstrap_accuracy,
    bootstrap_mean,
    format_mean_sd,
    mean_sd,
    paired_bootstrap,
    paired_seed_difference,
)


def test_mean_sd_uses_the_sample_sd():
    assert mean_sd([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert mean_sd([0.5]) == (0.5, 0.0)
    assert format_mean_sd([0.8, 0.82, 0.84], digits=2) == "0.82 ± 0.02 (n=3)"
    with pytest.raises(ValueError, match="at least one"):
        mean_sd([])


def test_bootstrap_interval_covers_the_accuracy_and_repeats():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    pred = np.where(rng.random(500) < 0.8, y, 1 - y)
    interval = bootstrap_accuracy(y, pred, seed=1)
    assert interval.estimate == pytest.approx((y == pred).mean())
    assert interval.low < interval.estimate < interval.high
    assert 0.05 < interval.high - interval.low < 0.1  # about ±2 standard errors of 0.018
    assert bootstrap_accuracy(y, pred, seed=1) == interval


def test_paired_bootstrap_sees_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 1_000)
    good = np.where(rng.random(1_000) < 0.9, y, (y + 1) % 4)
    bad = np.where(rng.random(1_000) < 0.7, y, (y + 1) % 4)
    assert paired_bootstrap(y, good, bad).excludes_zero()
    same = paired_bootstrap(y, good, good)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    assert not same.excludes_zero()
    with pytest.raises(ValueError, match="predictions"):
        paired_bootstrap(y, good[:10], bad)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_accuracy([], [])


def test_paired_seed_difference_and_interval_text():
    assert paired_seed_difference([0.9, 0.8], [0.7, 0.7]) == pytest.approx((0.15, 0.0707), 1e-3)
    with pytest.raises(ValueError, match="equal counts"):
        paired_seed_difference([0.9], [0.7, 0.7])
    assert str(Interval(0.02, -0.01, 0.05)) == "+0.0200 [-0.0100, +0.0500]"


def test_bootstrap_mean_brackets_the_mean_and_shrinks_with_more_values():
    few = bootstrap_mean([0, 1, 0, 0], seed=1)
    many = bootstrap_mean([0, 1, 0, 0] * 100, seed=1)
    assert few.estimate == many.estimate == 0.25
    assert few.low <= 0.25 <= few.high and many.low <= 0.25 <= many.high
    assert many.high - many.low < few.high - few.low
    assert bootstrap_mean([0.2, 0.2, 0.2]).low == pytest.approx(0.2)
    assert bootstrap_mean([1, 2, 3], seed=0) == bootstrap_mean([1, 2, 3], seed=0)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_mean([])


def test_min_detectable_difference_matches_the_formulas_and_the_bootstrap():
    from nlpcourse.evaluate.stats import min_detectable_difference

    # two independent accuracies near 0.8 on SST-2's 436 test sentences: about ±5 points
    assert min_detectable_difference(436) == pytest.approx(1.96 * (2 * 0.16 / 436) ** 0.5, 1e-3)
    # paired: only the rows where the models disagree count
    assert min_detectable_difference(400, disagreement=0.1) == pytest.approx(
        1.96 * (0.1 / 400) ** 0.5, 1e-3
    )
    assert min_detectable_difference(1600) == pytest.approx(min_detectable_difference(400) / 2)
    # the paired formula is the half-width of paired_bootstrap's interval when A and B tie
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2_000)
    a, b = labels.copy(), labels.copy()
    a[:100] = 1 - a[:100]  # A wrong on rows 0-99, B wrong on rows 100-199: 10 % disagreement
    b[100:200] = 1 - b[100:200]
    interval = paired_bootstrap(labels, a, b, n_boot=4_000)
    half_width = (interval.high - interval.low) / 2
    assert half_width == pytest.approx(min_detectable_difference(2_000, disagreement=0.1), rel=0.1)
    with pytest.raises(ValueError, match="n_rows"):
        min_detectable_difference(0)
    with pytest.raises(ValueError, match="fraction"):
        min_detectable_difference(10, disagreement=2.0)
