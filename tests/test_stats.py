"""Intervals and paired tests against scipy on hand-made data."""

import numpy as np
import pytest
from scipy import stats

from fnaf.stats import (
    MIN_PAIRED_UNITS,
    cluster_bootstrap_correlation,
    cluster_bootstrap_mean,
    correlation,
    mcnemar_exact,
    paired_test,
    resampled_correlations,
    volume_hits_test,
    volume_paired_test,
    wilson_interval,
)


def test_wilson_interval_matches_the_closed_form():
    successes, trials, z = 7, 80, stats.norm.ppf(0.975)
    rate = successes / trials
    centre = (rate + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half = z / (1 + z**2 / trials) * np.sqrt(rate * (1 - rate) / trials + z**2 / (4 * trials**2))
    assert wilson_interval(successes, trials) == pytest.approx((centre - half, centre + half))
    low, high = wilson_interval(0, 80)
    assert low == 0 and 0 < high < 0.05  # a zero rate still has an upper bound
    assert np.isnan(wilson_interval(0, 0)).all()


def test_cluster_bootstrap_resamples_volumes_not_slices():
    rng = np.random.default_rng(1)
    volume_effect = np.repeat(rng.normal(0, 1, 10), 8)  # slices of a volume move together
    values = volume_effect + rng.normal(0, 0.1, 80)
    volumes = np.repeat(np.arange(10), 8)
    mean, low, high = cluster_bootstrap_mean(values, volumes, seed=3)
    assert mean == pytest.approx(values.mean()) and low < mean < high
    naive = cluster_bootstrap_mean(values, np.arange(80), seed=3)  # as if slices were independent
    assert (high - low) > 2 * (naive[2] - naive[1])  # clustering widens the interval
    assert cluster_bootstrap_mean(values, volumes, seed=3) == (mean, low, high)  # seeded
    assert np.isnan(cluster_bootstrap_mean(values, np.zeros(80), seed=3)[1])  # one volume


def test_paired_test_is_scipy_signed_rank_with_direction():
    rng = np.random.default_rng(2)
    reference = rng.uniform(0.05, 0.1, 12)
    model = reference * rng.uniform(0.5, 0.9, 12)  # lower on every unit
    comparison = paired_test(model, reference)
    assert comparison.p_signed_rank == pytest.approx(stats.wilcoxon(model, reference).pvalue)
    assert comparison.p_signed_rank == pytest.approx(2 / 2**12)  # exact: all 12 below
    assert comparison.p_rank_sum == pytest.approx(stats.ranksums(model, reference).pvalue)
    assert comparison.direction == "lower" and comparison.significant()
    assert paired_test(reference, model).direction == "higher"
    same = paired_test(reference, reference)
    assert same.p_signed_rank == 1 and same.direction == "equal" and not same.significant()


def test_too_few_units_are_shown_but_not_tested():
    few = paired_test(np.arange(MIN_PAIRED_UNITS - 1), np.arange(MIN_PAIRED_UNITS - 1) + 1.0)
    assert few.n == MIN_PAIRED_UNITS - 1 and few.direction == "lower"
    assert np.isnan(few.p_signed_rank) and not few.significant()
    # complete separation of 3 units gave the rank-sum's normal approximation p = 0.0495
    assert stats.ranksums([1, 2, 3], [4, 5, 6]).pvalue < 0.05
    with pytest.raises(ValueError, match="same shape"):
        paired_test([1, 2], [1, 2, 3])


def test_mcnemar_counts_discordant_slices_and_is_an_exact_binomial():
    reference = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], bool)
    model = np.array([0, 0, 0, 0, 0, 0, 1, 0, 0, 1], bool)
    only_model, only_reference, p = mcnemar_exact(model, reference)
    assert (only_model, only_reference) == (1, 6)
    assert p == pytest.approx(stats.binomtest(1, 7).pvalue) == pytest.approx(16 / 128)
    assert mcnemar_exact(reference, reference) == (0, 0, 1.0)


def test_correlation_gives_both_coefficients_with_fisher_intervals():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    result = correlation(x, y)
    assert result["n"] == 40
    assert result["pearson_r"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert result["pearson_low"] < result["pearson_r"] < result["pearson_high"]
    rho = result["spearman_r"]
    half = 1.959964 * np.sqrt((1 + rho ** 2 / 2) / 37)  # Bonett and Wright
    assert result["spearman_low"] == pytest.approx(np.tanh(np.arctanh(rho) - half), abs=1e-6)
    assert 0 < result["spearman_p"] < 0.05 and 0 < result["pearson_p"] < 0.05
    assert np.isnan(correlation([1, 2, 3], [1, 2, 3])["pearson_r"])  # too few pairs
    assert np.isnan(correlation(x, np.ones(40))["spearman_r"])  # a constant: no correlation


def test_the_volume_level_test_averages_each_volume_first():
    volumes = np.repeat(np.arange(8), 3)
    reference = np.zeros(24)
    model = np.repeat([-1.0, -2, -3, -4, -5, -6, -7, 8], 3) + np.tile([0.1, 0, -0.1], 8)
    test = volume_paired_test(model, reference, volumes)
    assert test.n == 8 and test.direction == "lower"
    expected = stats.wilcoxon([-1.0, -2, -3, -4, -5, -6, -7, 8]).pvalue
    assert test.p_signed_rank == pytest.approx(expected)
    with pytest.raises(ValueError, match="same shape"):
        volume_paired_test(model, reference, volumes[1:])


def test_slices_of_one_volume_taken_as_independent_reject_too_often_under_the_null():
    """Null: no difference between the models, but each volume shifts all its slices together
    (a volume effect of sd 1 beside slice noise of sd 0.5; 10 volumes of 16 slices). The
    slice-level signed-rank test rejects far more than 5 %; the volume-level one does not."""
    rng = np.random.default_rng(29)
    volumes = np.repeat(np.arange(10), 16)
    reference = np.zeros(len(volumes))
    slice_level = volume_level = 0
    simulations = 300
    for _ in range(simulations):
        difference = rng.normal(0, 1, 10)[volumes] + rng.normal(0, 0.5, len(volumes))
        slice_level += paired_test(difference, reference).significant()
        volume_level += volume_paired_test(difference, reference, volumes).significant()
    slice_rate, volume_rate = slice_level / simulations, volume_level / simulations
    assert slice_rate > 0.15, slice_rate
    assert volume_rate < 0.10, volume_rate


def test_paired_hits_by_volume_test_the_per_volume_rate_differences():
    """Eight volumes of four slices: the model hits one slice more than the reference in seven
    volumes and one fewer in the last, so the rate differences are 0.25 × [1]*7 + [-0.25]."""
    volumes = np.repeat(np.arange(8), 4)
    reference = np.tile([True, False, False, False], 8)
    model = reference.copy()
    model[1::4][:7] = True  # a second hit in volumes 0-6
    model[28] = False  # volume 7 loses its hit
    result = volume_hits_test(model, reference, volumes)
    assert result["volumes"] == 8
    assert result["rate difference"] == pytest.approx(6 / 32)
    assert result["rate difference low"] <= 6 / 32 <= result["rate difference high"]
    assert result["p volumes"] == pytest.approx(stats.wilcoxon([0.25] * 7 + [-0.25]).pvalue)
    assert mcnemar_exact(model, reference)[:2] == (7, 1)


def test_correlations_of_weighted_resamples_are_scipys_on_the_repeated_units():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=30), 1)  # ties
    y = x + rng.normal(size=30)
    weights = rng.integers(0, 3, size=(6, 30))
    for method, scipy_test in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        expected = [scipy_test(np.repeat(x, w), np.repeat(y, w)).statistic for w in weights]
        assert resampled_correlations(x, y, weights, method) == pytest.approx(expected)
    with pytest.raises(ValueError, match="pearson"):
        resampled_correlations(x, y, weights, "kendall")


def test_the_cluster_bootstrap_of_a_correlation_resamples_volumes():
    """Three volumes' clouds with no correlation inside any, placed on the diagonal: the
    estimate is large, but a resample of three volumes often repeats one, so the interval
    reaches down to the within-volume value 0 (slices as independent: Fisher's interval stays
    far from 0)."""
    rng = np.random.default_rng(0)
    volumes = np.repeat([0, 1, 2], 40)
    x = rng.normal(size=120) + 3 * volumes
    y = rng.normal(size=120) + 3 * volumes
    r, low, high = cluster_bootstrap_correlation(x, y, volumes, "pearson")
    assert r == pytest.approx(stats.pearsonr(x, y).statistic)
    assert low < 0.3 < 0.8 < r <= high
    assert correlation(x, y)["pearson_low"] > 0.7
    monotone = cluster_bootstrap_correlation(np.arange(20), np.arange(20) ** 3,
                                             np.repeat(np.arange(5), 4))
    assert monotone == (1.0, 1.0, 1.0)
    assert np.isnan(cluster_bootstrap_correlation(x, y, np.zeros(120))[1])  # one volume


def test_unit_level_tests_of_hits_and_correlations_reject_too_often_under_the_null():
    """Null with a known within-volume correlation (20 volumes of 8 slices, 200 simulations):
    hits whose rate difference between the models varies by volume around 0 (logit ± a volume
    effect of sd 1.5), and two variables that each share a volume effect (sd 1, slice noise sd
    0.5) but are independent. The slice-level McNemar and Fisher interval of ρ reject far more
    often than 5 %; the volume-level test and the cluster bootstrap interval stay within a
    99 % binomial bound of 5 %."""
    rng = np.random.default_rng(29)
    volumes = np.repeat(np.arange(20), 8)
    simulations = 200
    bound = stats.binom.ppf(0.99, simulations, 0.05) / simulations
    rejected = np.zeros((4,))
    for _ in range(simulations):
        base, effect = rng.normal(0, 1, 20), rng.normal(0, 1.5, 20)
        model, reference = (rng.random(160) < 1 / (1 + np.exp(-(base + sign * effect)))[volumes]
                            for sign in (1, -1))
        x, y = (rng.normal(0, 1, 20)[volumes] + rng.normal(0, 0.5, 160) for _ in range(2))
        by_slice = correlation(x, y)
        _, low, high = cluster_bootstrap_correlation(x, y, volumes, resamples=500)
        rejected += [mcnemar_exact(model, reference)[2] <= 0.05,
                     volume_hits_test(model, reference, volumes)["p volumes"] <= 0.05,
                     by_slice["spearman_low"] > 0 or by_slice["spearman_high"] < 0,
                     low > 0 or high < 0]
    slice_hits, volume_hits, slice_rho, volume_rho = rejected / simulations
    assert slice_hits > 0.15 and slice_rho > 0.15, (slice_hits, slice_rho)
    assert volume_hits <= bound and volume_rho <= bound, (volume_hits, volume_rho, bound)
