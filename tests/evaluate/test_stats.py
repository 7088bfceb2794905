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


def test_min_detectable_difference():
    from nlpcourse.evaluate.stats import Interval, min_detectable_difference

    interval = Interval(0.01, -0.04, 0.06)  # half-width 0.05 at 95 %
    assert min_detectable_difference(interval) == pytest.approx(0.05 / 1.95996 * 2.80151, rel=1e-4)
    assert min_detectable_difference(interval, power=0.5) == pytest.approx(0.05, rel=1e-4)
    with pytest.raises(ValueError, match="power"):
        min_detectable_difference(interval, power=1.0)
