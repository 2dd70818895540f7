"""The grid world's tabular model: shapes, exact rows on hand-checked cells, textbook values, speed."""

import time
import tracemalloc

import numpy as np
import pytest

from core.errors import UserError
from envs.gridworld.layout import get_layout
from envs.gridworld.model import build_mdp, state_index

N, E, S, W = range(4)


def row(mdp, cell_to_state, cell, action) -> dict[tuple[int, int], float]:
    """Successor distribution of (cell, action) as {cell: probability}."""
    state_to_cell = np.argwhere(cell_to_state >= 0)
    transitions = mdp.transitions[[cell_to_state[cell] * 4 + action]]
    return {
        tuple(int(x) for x in state_to_cell[j]): p
        for j, p in zip(transitions.indices, transitions.data, strict=True)
    }


@pytest.fixture
def book():
    layout = get_layout("book")
    return build_mdp(layout, noise=0.2, living_reward=0.0), state_index(layout)[0]


@pytest.mark.parametrize("name", ["book", "bridge", "cliff", "maze-9", "open-5x6"])
def test_shapes_dtypes_and_row_sums(name):
    layout = get_layout(name)
    mdp = build_mdp(layout, noise=0.2, living_reward=-0.04)
    n_states = int((~layout.walls).sum())
    assert mdp.transitions.shape == (n_states * 4, n_states)
    assert mdp.rewards.shape == (n_states, 4) and mdp.terminal.shape == (n_states,)
    assert mdp.action_names == ("N", "E", "S", "W")
    assert mdp.transitions.indices.dtype == np.int32 and mdp.transitions.indptr.dtype == np.int32
    assert mdp.transitions.data.dtype == np.float64
    sums = np.asarray(mdp.transitions.sum(axis=1)).reshape(n_states, 4)
    assert np.allclose(sums, np.where(mdp.terminal[:, None], 0.0, 1.0))
    assert mdp.transitions.has_canonical_format  # duplicates merged, indices sorted


def test_index_maps_round_trip():
    layout = get_layout("book")
    cell_to_state, state_to_cell = state_index(layout)
    assert cell_to_state[1, 1] == -1
    assert cell_to_state.dtype == np.int32 and state_to_cell.dtype == np.int32
    assert np.array_equal(cell_to_state[state_to_cell[:, 0], state_to_cell[:, 1]], np.arange(11))
    assert cell_to_state[layout.start] == 7  # row-major over the 11 open cells


def test_north_from_the_start_slips_and_bumps_the_border(book):
    mdp, cell_to_state = book
    assert row(mdp, cell_to_state, (2, 0), N) == pytest.approx({(1, 0): 0.8, (2, 0): 0.1, (2, 1): 0.1})


def test_moving_into_the_wall_stays_put(book):
    mdp, cell_to_state = book
    assert row(mdp, cell_to_state, (0, 1), S) == pytest.approx({(0, 1): 0.8, (0, 0): 0.1, (0, 2): 0.1})


def test_corner_bumps_merge_into_one_entry(book):
    mdp, cell_to_state = book
    assert row(mdp, cell_to_state, (0, 0), N) == pytest.approx({(0, 0): 0.9, (0, 1): 0.1})


def test_terminal_rows_are_empty_and_pay_their_reward():
    layout = get_layout("book")
    mdp = build_mdp(layout, noise=0.2, living_reward=-0.04)
    cell_to_state = state_index(layout)[0]
    plus, minus = cell_to_state[0, 3], cell_to_state[1, 3]
    assert np.flatnonzero(mdp.terminal).tolist() == sorted([plus, minus])
    for state in (plus, minus):
        assert mdp.transitions[[state * 4 + a for a in range(4)]].nnz == 0
    assert np.all(mdp.rewards[plus] == 1.0) and np.all(mdp.rewards[minus] == -1.0)
    assert np.all(mdp.rewards[~mdp.terminal] == -0.04)


def test_noise_zero_is_deterministic_and_noise_one_always_slips():
    layout = get_layout("book")
    cell_to_state = state_index(layout)[0]
    exact = build_mdp(layout, noise=0.0, living_reward=0.0)
    assert np.diff(exact.transitions.indptr).max() == 1
    assert row(exact, cell_to_state, (2, 0), E) == {(2, 1): 1.0}
    slippery = build_mdp(layout, noise=1.0, living_reward=0.0)
    assert row(slippery, cell_to_state, (2, 0), E) == pytest.approx({(1, 0): 0.5, (2, 0): 0.5})


def optimal_values(mdp, gamma: float, sweeps: int = 500) -> np.ndarray:
    """Value iteration, written here as an independent oracle: V(s) = max_a R(s,a) + γ Σ p V(s')."""
    values = np.zeros(mdp.n_states)
    for _ in range(sweeps):
        values = (mdp.rewards + gamma * (mdp.transitions @ values).reshape(mdp.n_states, 4)).max(axis=1)
    return values


def test_book_values_match_the_course_notes_figure():
    # Berkeley CS188 gridworld, discount 0.9, noise 0.2, no living reward (rows top to bottom).
    mdp = build_mdp(get_layout("book"), noise=0.2, living_reward=0.0)
    expected = [0.64, 0.74, 0.85, 1.00, 0.57, 0.57, -1.00, 0.49, 0.43, 0.48, 0.28]
    assert np.round(optimal_values(mdp, gamma=0.9), 2).tolist() == expected


def test_book_values_match_aima_figure_17_3():
    # Russell & Norvig: undiscounted, noise 0.2, living reward -0.04.
    mdp = build_mdp(get_layout("book"), noise=0.2, living_reward=-0.04)
    expected = [0.812, 0.868, 0.918, 1.0, 0.762, 0.660, -1.0, 0.705, 0.655, 0.611, 0.388]
    assert np.round(optimal_values(mdp, gamma=1.0), 3).tolist() == expected


@pytest.mark.parametrize("noise", [-0.1, 1.5, float("nan"), "lots", None])
def test_bad_noise_is_a_user_error(noise):
    with pytest.raises(UserError, match="noise must be a probability"):
        build_mdp(get_layout("book"), noise=noise, living_reward=0.0)


@pytest.mark.parametrize("living_reward", [float("inf"), float("nan"), "x"])
def test_bad_living_reward_is_a_user_error(living_reward):
    with pytest.raises(UserError, match="living reward must be a finite number"):
        build_mdp(get_layout("book"), noise=0.2, living_reward=living_reward)


def test_million_state_open_grid_builds_fast_and_lean():
    layout = get_layout("open-1000x1000")
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        begin = time.perf_counter()
        mdp = build_mdp(layout, noise=0.2, living_reward=0.0)
        seconds = time.perf_counter() - begin
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert mdp.transitions.shape == (4_000_000, 1_000_000)
    # 3 outcomes per row, minus the terminal corner's 4 empty rows and, in each other corner, two
    # actions whose intended move and one slip both bump into the border (merged into one entry).
    assert mdp.transitions.nnz == 12 * 10**6 - 4 * 3 - 3 * 2
    assert mdp.transitions.indices.dtype == np.int32
    assert seconds < 15.0, f"building took {seconds:.1f} s"
    assert peak < 1024**3, f"peak traced memory {peak / 2**20:.0f} MiB"
