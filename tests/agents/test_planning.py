"""Exact planners: Bellman residuals, agreement of VI / PI / QI, textbook values, env vs model."""

import numpy as np
import pytest
import scipy.sparse as sp

from agents.tabular import policy_iteration, q_iteration, value_iteration
from agents.tabular.bellman import SweepOrder, bellman_residual
from core.errors import UserError
from core.evaluation import evaluate_policy
from envs.gridworld.env import GridWorldEnv
from envs.gridworld.layout import get_layout
from envs.gridworld.model import build_mdp
from envs.mdp import TabularMDP

PLANNERS = {
    "vi-jacobi": lambda mdp, gamma: value_iteration(mdp, gamma, tol=1e-10, sweep="jacobi"),
    "vi-gauss-seidel": lambda mdp, gamma: value_iteration(mdp, gamma, tol=1e-10, sweep="gauss-seidel"),
    "pi-exact": lambda mdp, gamma: policy_iteration(mdp, gamma, tol=1e-10, evaluation="exact"),
    "pi-iterative": lambda mdp, gamma: policy_iteration(mdp, gamma, tol=1e-10, evaluation="iterative"),
    "qi": lambda mdp, gamma: q_iteration(mdp, gamma, tol=1e-10),
}


def book(noise=0.2, living_reward=0.0):
    return build_mdp(get_layout("book"), noise, living_reward)


@pytest.mark.parametrize("name", PLANNERS)
def test_returned_values_have_a_small_bellman_residual(name):
    mdp = book()
    result = PLANNERS[name](mdp, 0.9)
    assert result.residual == pytest.approx(bellman_residual(mdp, result.values, 0.9))
    assert result.residual < 1e-9
    assert result.iterations == len(result.residuals) >= 1


@pytest.mark.parametrize("layout", ["book", "bridge", "cliff", "maze-11", "maze-15"])
def test_all_planners_agree_on_values_and_policy(layout):
    mdp = build_mdp(get_layout(layout, seed=3), 0.2, -0.01)
    results = {name: plan(mdp, 0.95) for name, plan in PLANNERS.items()}
    reference = results["pi-exact"]
    for name, result in results.items():
        np.testing.assert_allclose(result.values, reference.values, atol=1e-7, err_msg=name)
        live = ~mdp.terminal
        np.testing.assert_array_equal(result.policy[live], reference.policy[live], err_msg=name)


def test_book_grid_matches_the_textbook_figure():
    # The course notes' noisy grid (noise 0.2, gamma 0.9, no living reward): values to two decimals.
    env = GridWorldEnv("book", noise=0.2)
    result = value_iteration(env.mdp(), 0.9)
    grid = np.full(env.layout.shape, np.nan)
    grid[env.cell_to_state >= 0] = result.values[env.cell_to_state[env.cell_to_state >= 0]]
    expected = [[0.64, 0.74, 0.85, 1.00], [0.57, np.nan, 0.57, -1.00], [0.49, 0.43, 0.48, 0.28]]
    np.testing.assert_allclose(grid, expected, atol=0.005)
    # Greedy actions: east along the top row, north up the left column, the famous west next to -1.
    policy = {tuple(env.state_to_cell[s]): "NESW"[a] for s, a in enumerate(result.policy)}
    assert [policy[(0, c)] for c in range(3)] == ["E", "E", "E"]
    assert policy[(2, 0)] == "N" and policy[(1, 2)] == "N" and policy[(2, 3)] == "W"


def test_monte_carlo_return_of_the_optimal_policy_matches_its_value():
    # Undiscounted (gamma = 1) with a living cost, so the env's plain episode return is the value.
    env = GridWorldEnv("book", noise=0.2, living_reward=-0.04)
    result = value_iteration(env.mdp(), 1.0)
    start = env.cell_to_state[env.layout.start]
    assert result.values[start] == pytest.approx(0.7053, abs=1e-3)  # AIMA's figure 17.3

    def optimal(obs):
        return result.policy[np.asarray(obs)]

    evaluation = evaluate_policy(
        optimal, lambda: GridWorldEnv("book", noise=0.2, living_reward=-0.04), n_episodes=3000, seed=7
    )
    standard_error = evaluation.std_return / np.sqrt(3000)
    assert abs(evaluation.mean_return - result.values[start]) < 4 * standard_error


def test_gauss_seidel_needs_fewer_sweeps_on_an_open_grid():
    mdp = build_mdp(get_layout("open-60x60"), 0.2, -0.04)
    jacobi = value_iteration(mdp, 0.99, tol=1e-8, sweep="jacobi")
    ordered = value_iteration(mdp, 0.99, tol=1e-8, sweep="gauss-seidel")
    assert ordered.iterations < jacobi.iterations / 2
    np.testing.assert_allclose(ordered.values, jacobi.values, atol=1e-6)


def test_sweep_order_groups_states_by_distance_to_a_terminal():
    mdp = book()
    order = SweepOrder.from_terminals(mdp)
    assert sorted(np.concatenate(order.states).tolist()) == list(range(mdp.n_states))
    terminals = set(np.flatnonzero(mdp.terminal).tolist())
    assert set(order.states[0].tolist()) == terminals
    for states, transitions in zip(order.states, order.transitions, strict=True):
        assert transitions.shape == (len(states) * mdp.n_actions, mdp.n_states)


def test_planners_are_deterministic():
    mdp = build_mdp(get_layout("maze-15", seed=1), 0.1, -0.02)
    a, b = value_iteration(mdp, 0.9), value_iteration(mdp, 0.9)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.residuals == b.residuals


def test_an_mdp_without_terminals_is_planned_with_discounting():
    # Two states, two actions: stay (reward 1 in state 1) or switch. V* = 1 / (1 - gamma) in state 1.
    transitions = sp.csr_array(np.array([[1.0, 0], [0, 1], [0, 1], [1, 0]]))
    mdp = TabularMDP(transitions, np.array([[0.0, 0.0], [1.0, 0.0]]), np.zeros(2, dtype=bool))
    for plan in PLANNERS.values():
        result = plan(mdp, 0.5)
        np.testing.assert_allclose(result.values, [1.0, 2.0], atol=1e-8)
        assert result.policy.tolist() == [1, 0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: value_iteration(m, gamma=1.5), "gamma"),
        (lambda m: value_iteration(m, gamma=0.0), "gamma"),
        (lambda m: value_iteration(m, 0.9, tol=0), "tol"),
        (lambda m: value_iteration(m, 0.9, sweep="random"), "sweep"),
        (lambda m: policy_iteration(m, 0.9, evaluation="guess"), "evaluation"),
        (lambda m: q_iteration(m, 0.9, max_iterations=0), "max_iterations"),
    ],
)
def test_bad_arguments_raise_a_clear_user_error(call, message):
    with pytest.raises(UserError, match=message):
        call(book())


def test_policy_evaluation_of_a_policy_that_never_ends_is_a_clear_error():
    transitions = sp.csr_array(np.array([[1.0, 0], [0, 1], [0, 1], [0, 1]]))
    mdp = TabularMDP(transitions, np.zeros((2, 2)), np.zeros(2, dtype=bool))
    with pytest.raises(UserError, match="gamma"):
        policy_iteration(mdp, 1.0, evaluation="exact")
