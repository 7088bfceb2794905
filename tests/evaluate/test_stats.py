import numpy as np
import pytest

from nlpcourse.evaluate.stats import (
    Interval,
    bootstrap_accuracy,
    bootstrap_mean,
    detectable_difference,
    disagreement_rate,
    format_mean_sd,
    mean_sd,
    min_detectable_difference,
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


def test_detectable_difference_matches_the_paired_bootstrap_half_width():
    # SST-2's 436 validation sentences, two models disagreeing on a fifth of them: about ±4 points
    assert detectable_difference(436, 0.2) == pytest.approx(1.959964 * (0.2 / 436) ** 0.5)
    assert 0.04 < detectable_difference(436, 0.2) < 0.043
    assert detectable_difference(4 * 436, 0.2) == pytest.approx(detectable_difference(436, 0.2) / 2)
    assert detectable_difference(436, 0.2, level=0.99) > detectable_difference(436, 0.2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2_000)
    a = np.where(rng.random(2_000) < 0.8, y, 1 - y)
    b = np.where(rng.random(2_000) < 0.8, y, 1 - y)
    interval = paired_bootstrap(y, a, b, n_boot=4_000)
    half_width = (interval.high - interval.low) / 2
    assert detectable_difference(len(y), disagreement_rate(a, b)) == pytest.approx(
        half_width, rel=0.1
    )
    assert disagreement_rate([0, 1, 1, 0], [0, 1, 0, 1]) == 0.5
    for bad in ({"n_rows": 0, "disagreement": 0.2}, {"n_rows": 10, "disagreement": 1.5}):
        with pytest.raises(ValueError):
            detectable_difference(**bad)
    with pytest.raises(ValueError, match="level"):
        detectable_difference(10, 0.2, level=1.0)
    with pytest.raises(ValueError, match="equal"):
        disagreement_rate([0, 1], [0])


def test_min_detectable_difference_matches_the_formula_and_simulation():
    # SST-2's 436 sentences, worst-case sd 0.5: (1.96 + 0.84) * 0.5 / sqrt(436) = 6.7 points
    assert min_detectable_difference(436) == pytest.approx(2.8016 * 0.5 / np.sqrt(436), rel=1e-3)
    assert min_detectable_difference(4 * 436) == pytest.approx(min_detectable_difference(436) / 2)
    assert min_detectable_difference(100, row_sd=0.0) == 0.0
    assert min_detectable_difference(100, level=0.99) > min_detectable_difference(100)
    # a true difference of that size is found about `power` of the time by a z-test
    rng = np.random.default_rng(0)
    n, sd = 400, 0.3
    delta = min_detectable_difference(n, row_sd=sd)
    samples = rng.normal(delta, sd, size=(4_000, n)).mean(axis=1)
    assert np.mean(samples / (sd / np.sqrt(n)) > 1.96) == pytest.approx(0.8, abs=0.03)


@pytest.mark.parametrize("args", [(0,), (10, -0.1), (10, 0.5, 1.0), (10, 0.5, 0.95, 0.0)])
def test_min_detectable_difference_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        min_detectable_difference(*args)


def test_cluster_bootstrap_resamples_whole_clusters():
    from nlpcourse.evaluate.stats import bootstrap_mean, cluster_bootstrap_mean

    clusters = np.repeat(np.arange(8), 8)  # 8 templates × 8 names
    values = np.repeat(np.linspace(0, 1, 8), 8)  # every row of a cluster alike
    interval = cluster_bootstrap_mean(values, clusters, seed=3)
    assert interval.estimate == pytest.approx(values.mean())
    # identical rows within a cluster: the same as bootstrapping the 8 cluster means
    per_cluster = bootstrap_mean(np.linspace(0, 1, 8), seed=3)
    assert (interval.low, interval.high) == pytest.approx((per_cluster.low, per_cluster.high))
    # and wider than the row bootstrap, which wrongly treats the 64 rows as independent
    rows = bootstrap_mean(values, seed=3)
    assert interval.high - interval.low > 1.5 * (rows.high - rows.low)
    assert cluster_bootstrap_mean(values, clusters, seed=3) == interval  # seeded


def test_cluster_bootstrap_weights_unequal_clusters_by_size():
    from nlpcourse.evaluate.stats import cluster_bootstrap_mean

    values, clusters = np.array([1.0, 1.0, 1.0, 0.0]), np.array([0, 0, 0, 1])
    interval = cluster_bootstrap_mean(values, clusters, n_boot=500)
    assert interval.estimate == 0.75 and interval.low == 0.0 and interval.high == 1.0
    with pytest.raises(ValueError, match="two clusters"):
        cluster_bootstrap_mean([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="one cluster id per value"):
        cluster_bootstrap_mean([1.0, 2.0], [0])


def test_interval_min_detectable_difference():
    from nlpcourse.evaluate.stats import Interval, interval_min_detectable_difference

    interval = Interval(0.01, -0.04, 0.06)  # half-width 0.05 at 95 %
    assert interval_min_detectable_difference(interval) == pytest.approx(
        0.05 / 1.95996 * 2.80151, rel=1e-4
    )
    assert interval_min_detectable_difference(interval, power=0.5) == pytest.approx(0.05, rel=1e-4)
    with pytest.raises(ValueError, match="power"):
        interval_min_detectable_difference(interval, power=1.0)
