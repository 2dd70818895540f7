"""``rlsuite solve`` and ``rlsuite list``: the JSON contract, the textbook numbers, the readable table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.tabular import value_iteration
from envs.gridworld.env import GridWorldEnv

from .conftest import BOOK, assert_user_error


def solve_json(run_cli, *args: str) -> dict:
    result = run_cli("solve", *BOOK, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_book_json_has_textbook_values_and_shape(run_cli):
    solution = solve_json(run_cli, "--gamma", "0.9", "--noise", "0.2", "--algo", "vi")
    values, policy = solution["values"], solution["policy"]
    assert [len(row) for row in values] == [4, 4, 4] and [len(row) for row in policy] == [4, 4, 4]
    # The Berkeley CS188 / AIMA figures for gamma 0.9, noise 0.2, no living reward.
    assert values[0] == pytest.approx([0.64, 0.74, 0.85, 1.0], abs=0.005)
    assert values[2][0] == pytest.approx(0.49, abs=0.005)  # the start cell
    assert values[1][1] is None and values[1][3] == -1.0
    assert policy[0] == ["E", "E", "E", None]
    assert policy[1] == ["N", None, "N", None]
    assert policy[2][:3] == ["N", "W", "N"]
    assert solution["residual"] < 1e-8 and solution["iterations"] > 0


def test_json_matches_the_planner(run_cli):
    solution = solve_json(run_cli, "--living-reward", "-0.04", "--gamma", "0.95")
    env = GridWorldEnv(layout="book", living_reward=-0.04)
    expected = value_iteration(env.mdp(), 0.95)
    flat = np.array([v for row in solution["values"] for v in row if v is not None])
    np.testing.assert_allclose(flat, expected.values[env.cell_to_state[env.cell_to_state >= 0]])
    assert solution["iterations"] == expected.iterations


@pytest.mark.parametrize("algo", ["pi", "qi"])
def test_planners_agree(run_cli, algo):
    reference = solve_json(run_cli, "--algo", "vi")
    other = solve_json(run_cli, "--algo", algo)
    assert other["policy"] == reference["policy"]
    # None (walls) becomes NaN, and NaNs in the same places compare equal.
    np.testing.assert_allclose(
        np.array(other["values"], float), np.array(reference["values"], float), atol=1e-6
    )


def test_table_and_plot(run_cli, tmp_path):
    result = run_cli("solve", *BOOK, "--plot", tmp_path / "values.png")
    assert result.exit_code == 0, result.stderr
    assert "0.85" in result.stdout and "→ → → *" in result.stdout
    assert (tmp_path / "values.png").stat().st_size > 1000


def test_solve_needs_a_tabular_env(run_cli):
    assert_user_error(run_cli("solve", "CartPole-v1"), "CartPole-v1", "not a tabular environment")


def test_solve_rejects_unknown_layout(run_cli):
    assert_user_error(run_cli("solve", "rlsuite/GridWorld-v0", "--layout", "nowhere"), "nowhere")


def test_list(run_cli):
    text = run_cli("list")
    assert text.exit_code == 0 and "rlsuite/GridWorld-v0" in text.stdout and "q-learning" in text.stdout
    listing = json.loads(run_cli("list", "--json").stdout)
    assert "rlsuite/GridWorld-v0" in listing["environments"]
    assert {a["name"] for a in listing["algorithms"]} >= {"vi", "pi", "qi", "q-learning"}
    assert "book" in listing["layouts"]
