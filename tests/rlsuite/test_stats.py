"""The rliable estimators: IQM, stratified bootstrap intervals, performance profiles, checked by hand."""

import numpy as np
import pytest
from scipy.stats import trim_mean

from rlsuite.stats import iqm, iqm_interval, performance_profile, stratified_bootstrap


def test_iqm_averages_the_middle_half():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # 1..8: cut 1, 2 and 7, 8; mean of 3..6
    assert iqm(np.array([10, 1, 3, 2, 100])) == pytest.approx(5.0)  # 5 runs: cut 1 and 100 -> (2+3+10)/3


def test_iqm_matches_scipys_trim_mean_which_rliable_uses():
    rng = np.random.default_rng(0)
    for shape in [(5, 1), (7, 3), (10, 4)]:
        scores = rng.normal(size=shape)
        assert iqm(scores) == pytest.approx(trim_mean(scores, 0.25, axis=None))
    curves = rng.normal(size=(6, 2, 9))
    per_point = [trim_mean(curves[..., t], 0.25, axis=None) for t in range(9)]
    np.testing.assert_allclose(iqm(curves, axis=(0, 1)), per_point)


def test_stratified_bootstrap_resamples_runs_within_each_task():
    scores = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0]])  # [3 runs, 2 tasks]
    samples = stratified_bootstrap(scores, reps=200, rng=np.random.default_rng(1))
    assert samples.shape == (200, 3, 2)
    assert set(np.unique(samples[..., 0])) <= {0.0, 1.0, 2.0}
    assert set(np.unique(samples[..., 1])) <= {10.0, 11.0, 12.0}
    assert len(np.unique(samples[..., 0])) == 3  # every run gets drawn somewhere


def test_bootstrap_interval_of_two_runs_by_hand():
    # Two runs scoring 0 and 1: a resample's IQM (the mean of two) is 0, 0.5 or 1 with chances 1/4, 1/2,
    # 1/4, so the 95 % percentile interval is [0, 1] around the estimate 0.5.
    interval = iqm_interval(np.array([[0.0], [1.0]]), reps=4000, seed=3)
    assert float(interval.estimate) == 0.5
    assert (float(interval.low), float(interval.high)) == (0.0, 1.0)


def test_interval_is_seeded_holds_the_estimate_and_narrows_with_more_runs():
    rng = np.random.default_rng(2)
    few, many = rng.normal(size=(5, 1)), rng.normal(size=(80, 1))
    a, b = iqm_interval(few, seed=7), iqm_interval(few, seed=7)
    assert (a.low, a.high) == (b.low, b.high)
    assert a.low <= a.estimate <= a.high
    wide, narrow = iqm_interval(few), iqm_interval(many)
    assert narrow.high - narrow.low < wide.high - wide.low
    constant = iqm_interval(np.full((4, 2), 3.0))
    assert (constant.low, constant.estimate, constant.high) == (3.0, 3.0, 3.0)


def test_learning_curve_interval_has_one_value_per_point():
    curves = np.stack([np.linspace(0, 1, 5) + offset for offset in (0.0, 0.1, 0.2, 0.3)])[:, None, :]
    band = iqm_interval(curves, reps=300)
    np.testing.assert_allclose(band.estimate, np.linspace(0, 1, 5) + 0.15)  # middle two runs: +0.1, +0.2
    assert np.all(band.low <= band.estimate) and np.all(band.estimate <= band.high)


def test_performance_profile_counts_runs_above_each_threshold():
    scores = np.array([[1.0], [2.0], [3.0], [4.0]])
    profile = performance_profile(scores, np.array([0.0, 2.5, 4.0]), reps=500)
    np.testing.assert_allclose(profile.estimate, [1.0, 0.5, 0.0])
    assert profile.low[0] == profile.high[0] == 1.0  # every resample is above 0
    assert profile.low[1] < 0.5 < profile.high[1]


def test_scores_need_runs_and_tasks():
    with pytest.raises(ValueError, match="runs, tasks"):
        iqm_interval(np.array([1.0, 2.0]))
