"""The exact tabular model of a grid world, built with array operations only.

States are the non-wall cells in row-major order; actions 0..3 are N, E, S, W. An action goes in its
direction with probability ``1 - noise`` and slips to each perpendicular direction with ``noise / 2``;
a move into a wall or off the grid stays put. Acting in a terminal cell collects its reward and ends
the episode (an empty transition row), so ``V(terminal) = R(terminal)``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from core.errors import UserError
from envs.gridworld.layout import Layout
from envs.mdp import TabularMDP

ACTION_NAMES = ("N", "E", "S", "W")
# (row, col) offset of each action, in the order of ACTION_NAMES.
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int32)


def state_index(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Index maps ``cell_to_state [H, W]`` (-1 on walls) and ``state_to_cell [S, 2]`` (row, col), int32."""
    open_cells = ~layout.walls
    state_to_cell = np.argwhere(open_cells).astype(np.int32)  # row-major, as the state order requires
    cell_to_state = np.full(layout.shape, -1, dtype=np.int32)
    cell_to_state[open_cells] = np.arange(len(state_to_cell), dtype=np.int32)
    return cell_to_state, state_to_cell


def check_noise(noise: float) -> float:
    """``noise`` as a float, or a UserError if it is not a probability."""
    try:
        value = float(noise)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise UserError(f"noise must be a probability in [0, 1], got {noise!r}")
    return value


def build_mdp(layout: Layout, noise: float, living_reward: float) -> TabularMDP:
    """The :class:`TabularMDP` of ``layout`` with slip probability ``noise`` and a per-step reward."""
    noise = check_noise(noise)
    try:
        living_reward = float(living_reward)
    except (TypeError, ValueError):
        living_reward = math.nan
    if not math.isfinite(living_reward):
        raise UserError(f"living reward must be a finite number, got {living_reward!r}")
    cell_to_state, state_to_cell = state_index(layout)
    n_states, n_actions = len(state_to_cell), len(ACTION_NAMES)
    height, width = layout.shape

    # landing[d, s]: the state reached from s by a clean move in direction d (s itself if blocked).
    rows = state_to_cell[:, 0] + MOVES[:, 0, None]
    cols = state_to_cell[:, 1] + MOVES[:, 1, None]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    target = np.where(inside, cell_to_state[rows.clip(0, height - 1), cols.clip(0, width - 1)], -1)
    landing = np.where(target >= 0, target, np.arange(n_states, dtype=np.int32)).astype(np.int32)
    del rows, cols, inside, target

    # Each (s, a) row lists three outcomes: intended, left slip, right slip.
    directions = (np.arange(n_actions)[:, None] + np.array([0, 1, n_actions - 1])) % n_actions  # [A, 3]
    probs = np.array([1.0 - noise, noise / 2, noise / 2])
    terminal = layout.terminal[~layout.walls]
    live = np.flatnonzero(~terminal)
    successors = landing[directions[None, :, :], live[:, None, None]]  # [live, A, 3]
    data = np.broadcast_to(probs, successors.shape).ravel().copy()
    row_lengths = np.where(terminal, 0, probs.size).repeat(n_actions)
    indptr = np.concatenate([[0], np.cumsum(row_lengths)]).astype(np.int32)
    transitions = sp.csr_array(
        (data, successors.ravel(), indptr), shape=(n_states * n_actions, n_states), copy=False
    )
    transitions.sum_duplicates()  # a slip and a wall bump can land on the same cell
    transitions.eliminate_zeros()  # with noise 0 (or 1) some outcomes have probability 0

    terminal_reward = layout.terminal_rewards[~layout.walls]
    rewards = np.repeat(np.where(terminal, terminal_reward, living_reward)[:, None], n_actions, axis=1)
    return TabularMDP(transitions=transitions, rewards=rewards, terminal=terminal, action_names=ACTION_NAMES)
