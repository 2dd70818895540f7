"""The figures are written as PNGs, for small and large grids and for edge cases in the data."""

from __future__ import annotations

import numpy as np

from envs.gridworld.env import GridWorldEnv
from rlsuite.plots import plot_learning_curve, plot_residuals, plot_values

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_plot_values_small_grid_with_policy(tmp_path):
    grid = GridWorldEnv(layout="book")
    values = np.linspace(-1.0, 1.0, grid.n_states)
    policy = np.arange(grid.n_states) % 4
    path = plot_values(values, policy, grid, tmp_path / "sub" / "book.png", "book")
    assert path == tmp_path / "sub" / "book.png"
    assert_png(path)


def test_plot_values_large_grid_positive_values_without_policy(tmp_path):
    grid = GridWorldEnv(layout="maze-25")
    assert_png(plot_values(np.linspace(0.0, 1.0, grid.n_states), None, grid, tmp_path / "maze.png"))


def test_plot_values_constant_values(tmp_path):
    grid = GridWorldEnv(layout="book")
    assert_png(
        plot_values(np.zeros(grid.n_states), np.zeros(grid.n_states, int), grid, tmp_path / "zero.png")
    )


def test_plot_residuals_skips_zero_residuals(tmp_path):
    residuals = {"vi": 0.9 ** np.arange(50), "pi": [1.0, 0.2, 0.0]}
    assert_png(plot_residuals(residuals, tmp_path / "residuals.png"))


def test_plot_learning_curve_short_and_long(tmp_path):
    assert_png(plot_learning_curve([1.0, -1.0], tmp_path / "short.png"))
    returns = np.random.default_rng(0).normal(size=500)
    assert_png(plot_learning_curve(returns, tmp_path / "long.png", window=25, title="noise"))
