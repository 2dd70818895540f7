"""Figures for the CLI and the demo: value heat maps with policy arrows, residual curves, learning curves.

Every function builds a standalone ``matplotlib.figure.Figure`` (no pyplot state), saves it and returns the
path, so plotting is safe in tests, threads and headless machines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import matplotlib
import numpy as np
from matplotlib.colors import Colormap, ListedColormap, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

# Unit displacement (dx, dy) in image coordinates (y grows downwards) for actions N, E, S, W.
_ARROW_DIRECTIONS = np.array([[0.0, -1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
_WALL_COLOUR = "#3b3b3b"
_TERMINAL_EDGE = "#111111"
_ANNOTATE_MAX_CELLS = 20  # grids up to 20 x 20 get each cell's value written in it


class GridLayout(Protocol):
    walls: np.ndarray  # [H, W] bool
    terminal_rewards: np.ndarray  # [H, W], NaN where the cell is not terminal


class Grid(Protocol):
    """What a value plot needs from a grid world (``GridWorldEnv`` has it)."""

    layout: GridLayout
    cell_to_state: np.ndarray  # [H, W] state index, -1 on walls


def plot_values(
    values: np.ndarray,
    policy: np.ndarray | None,
    grid: Grid,
    path: str | Path,
    title: str = "",
) -> Path:
    """Draw ``values [S]`` as a heat map over ``grid`` with the greedy ``policy [S]`` as arrows.

    Walls are dark grey, terminal cells are outlined and get no arrow; small grids have each value written
    in its cell. Zero is yellow, positive green and negative red, so the sign reads at a glance.
    """
    cell_to_state = np.asarray(grid.cell_to_state)
    height, width = cell_to_state.shape
    open_cells = cell_to_state >= 0
    terminal = ~np.isnan(np.asarray(grid.layout.terminal_rewards, dtype=float)) & open_cells
    grid_values = np.ma.masked_array(
        np.where(open_cells, np.asarray(values, dtype=float)[np.maximum(cell_to_state, 0)], 0.0),
        mask=~open_cells,
    )

    cell_inches = 0.75 if max(height, width) <= _ANNOTATE_MAX_CELLS else 0.35
    fig = Figure(figsize=(min(1.5 + cell_inches * width, 14.0), min(0.8 + cell_inches * height, 12.0)))
    ax = fig.subplots()
    cmap, norm = _colour_scale(grid_values.compressed())
    image = ax.imshow(grid_values, cmap=cmap, norm=norm, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="value")

    annotate = max(height, width) <= _ANNOTATE_MAX_CELLS
    for row, col in zip(*np.nonzero(terminal), strict=True):
        ax.add_patch(
            Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=_TERMINAL_EDGE, linewidth=2.5)
        )
    if annotate:
        for row, col in zip(*np.nonzero(open_cells), strict=True):
            value = grid_values[row, col]
            ax.text(
                col,
                row if terminal[row, col] or policy is None else row - 0.2,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8 if max(height, width) <= 12 else 6,
                color=_text_colour(cmap(norm(value))),
            )
    if policy is not None:
        _draw_arrows(ax, np.asarray(policy), cell_to_state, open_cells & ~terminal, below_text=annotate)

    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return _save(fig, path)


def plot_residuals(residuals_by_algo: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot each algorithm's residual (largest value change) per iteration on a log scale."""
    fig = Figure(figsize=(6.5, 4.0))
    ax = fig.subplots()
    # Distinct line styles keep curves that coincide (value and Q-iteration often do) both visible.
    styles = ["-", "--", ":", "-."]
    for index, (name, residuals) in enumerate(residuals_by_algo.items()):
        residuals = np.asarray(residuals, dtype=float)
        iterations = np.arange(1, len(residuals) + 1)
        # A residual of exactly zero (policy iteration's last sweep) has no place on a log axis.
        positive = residuals > 0
        marker = "o" if len(residuals) <= 30 else None
        ax.plot(
            iterations[positive],
            residuals[positive],
            linestyle=styles[index % len(styles)],
            linewidth=1.8,
            marker=marker,
            markersize=4,
            label=name,
        )
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("largest value change, max |ΔV|")
    ax.set_title("Convergence of the exact planners")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_learning_curve(
    episode_returns: Sequence[float], path: str | Path, window: int | None = None, title: str = ""
) -> Path:
    """Plot the return of every episode and its moving average (default window: a tenth of the run)."""
    returns = np.asarray(episode_returns, dtype=float)
    episodes = np.arange(1, len(returns) + 1)
    window = window or max(1, min(100, len(returns) // 10))
    fig = Figure(figsize=(6.5, 4.0))
    ax = fig.subplots()
    # Dots rather than a line: returns of successive episodes are independent, and often take few values.
    ax.plot(episodes, returns, ".", color="tab:blue", alpha=0.25, markersize=3, label="episode return")
    if len(returns) >= window:
        average = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(episodes[window - 1 :], average, color="tab:blue", linewidth=2.0, label=f"mean of {window}")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(title or "Learning curve")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def _colour_scale(values: np.ndarray) -> tuple[Colormap, Normalize]:
    """Red for negative, yellow for zero, green for positive, using only the side(s) the values occupy."""
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    full = matplotlib.colormaps["RdYlGn"]
    if low < 0 < high:
        cmap, norm = full, TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high)
    elif high > 0:
        cmap, norm = _half(full, upper=True), Normalize(vmin=0.0, vmax=high)
    elif low < 0:
        cmap, norm = _half(full, upper=False), Normalize(vmin=low, vmax=0.0)
    else:
        cmap, norm = full, Normalize(vmin=-1.0, vmax=1.0)
    return cmap.with_extremes(bad=_WALL_COLOUR), norm


def _half(cmap: Colormap, upper: bool) -> Colormap:
    samples = np.linspace(0.5, 1.0, 128) if upper else np.linspace(0.0, 0.5, 128)
    return ListedColormap(cmap(samples))


def _text_colour(rgba: tuple[float, ...]) -> str:
    """Black on light cells, white on dark ones (relative luminance)."""
    red, green, blue = rgba[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _draw_arrows(
    ax, policy: np.ndarray, cell_to_state: np.ndarray, cells: np.ndarray, below_text: bool
) -> None:
    """One arrow per cell in ``cells`` along the policy's action (in the lower half, under a value)."""
    rows, cols = np.nonzero(cells)
    direction = _ARROW_DIRECTIONS[policy[cell_to_state[rows, cols]]]
    length = 0.3 if below_text else 0.6
    centre_y = rows + (0.22 if below_text else 0.0)
    ax.quiver(
        cols - direction[:, 0] * length / 2,
        centre_y - direction[:, 1] * length / 2,
        direction[:, 0] * length,
        direction[:, 1] * length,
        angles="xy",
        scale_units="xy",
        scale=1,
        color="black",
        width=0.006 if below_text else 0.004,
        headwidth=4,
        headlength=4,
        headaxislength=3.5,
    )


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
