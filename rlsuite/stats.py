"""Aggregate statistics across seeds, after Agarwal et al. 2021, "Deep RL at the Edge of the Statistical
Precipice" (the ``rliable`` methodology): the interquartile mean with stratified-bootstrap confidence
intervals, and performance profiles (score distributions) with their bands.

rliable 1.2.0 itself does not import beside pandas 3 (its bootstrap comes from ``arch``, which breaks there),
so its estimators are written out here with numpy; the tests check them against hand computations and
against scipy's ``trim_mean``, which is what rliable's IQM calls.

Scores are arrays ``[runs, tasks]`` (final scores) or ``[runs, tasks, points]`` (learning curves). The
stratified bootstrap resamples runs with replacement separately within each task, so every task keeps its
number of runs; a resampled run brings its whole learning curve with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOOTSTRAP_REPS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval (arrays of one shape: a scalar, or one per point)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


def iqm(scores: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50 % of the scores (over ``axis``; all of them by default).

    As scipy's ``trim_mean(x, 0.25)``: after sorting, ``floor(n/4)`` scores are cut from each end, so with
    5 runs the lowest and the highest go and the middle 3 are averaged.
    """
    scores = np.asarray(scores, dtype=float)
    if axis is None:
        flat = np.sort(scores.ravel())
        cut = len(flat) // 4
        return np.asarray(flat[cut : len(flat) - cut].mean())
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % scores.ndim for a in axes)
    kept = [a for a in range(scores.ndim) if a not in axes]
    # Gather the reduced axes at the end, flatten them, and trim along that one axis.
    moved = np.moveaxis(scores, axes, range(-len(axes), 0)).reshape(*[scores.shape[a] for a in kept], -1)
    ordered = np.sort(moved, axis=-1)
    cut = ordered.shape[-1] // 4
    return ordered[..., cut : ordered.shape[-1] - cut].mean(axis=-1)


def stratified_bootstrap(scores: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` resamples of ``scores [runs, tasks, ...]``: within each task, runs drawn with replacement.

    Returns ``[reps, runs, tasks, ...]``.
    """
    scores = np.asarray(scores, dtype=float)
    runs, tasks = scores.shape[:2]
    picks = rng.integers(0, runs, size=(reps, runs, tasks))  # run index per (resample, slot, task)
    return scores[picks, np.arange(tasks)]


def iqm_interval(
    scores: np.ndarray, reps: int = BOOTSTRAP_REPS, confidence: float = CONFIDENCE, seed: int = 0
) -> Interval:
    """IQM over runs and tasks with its percentile stratified-bootstrap interval.

    ``scores [runs, tasks]`` gives a scalar; ``[runs, tasks, points]`` gives one IQM per point (a learning
    curve with its band).
    """
    scores = np.asarray(scores, dtype=float)
    _check_scores(scores)
    rng = np.random.default_rng(seed)
    resampled = stratified_bootstrap(scores, reps, rng)
    estimates = iqm(resampled, axis=(1, 2))
    low, high = _percentiles(estimates, confidence)
    return Interval(iqm(scores, axis=(0, 1)), low, high)


def performance_profile(
    scores: np.ndarray,
    thresholds: np.ndarray,
    reps: int = BOOTSTRAP_REPS,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """Score distribution: for each threshold τ, the fraction of runs (over all tasks) scoring above τ,
    with its stratified-bootstrap band. ``scores [runs, tasks]``; returns arrays of ``thresholds``' length.
    """
    scores = np.asarray(scores, dtype=float)
    _check_scores(scores)
    thresholds = np.asarray(thresholds, dtype=float)
    rng = np.random.default_rng(seed)
    resampled = stratified_bootstrap(scores, reps, rng)  # [reps, runs, tasks]
    above = resampled[..., None] > thresholds  # [reps, runs, tasks, τ]
    fractions = above.mean(axis=(1, 2))
    low, high = _percentiles(fractions, confidence)
    return Interval((scores[..., None] > thresholds).mean(axis=(0, 1)), low, high)


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of bootstrap ``samples [reps, ...]``."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def _check_scores(scores: np.ndarray) -> None:
    if scores.ndim < 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"scores must be [runs, tasks, ...] with at least one of each, got {scores.shape}")
