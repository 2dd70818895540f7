"""``rlsuite plan car``: the drive's figures as text and JSON, the GIF, and one-line errors."""

from __future__ import annotations

import json

import pytest

from .conftest import assert_user_error

PLAN = ["plan", "car"]


def test_mppi_parks_near_the_target_and_prints_its_figures(run_cli):
    result = run_cli(*PLAN, "--target", "2", "0.5", "--steps", "80")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "mppi drove the car from rest at the origin to (2, 0.5) in 80 steps:"
    error = float(next(line for line in lines if "final position error" in line).split()[-2])
    speed = float(next(line for line in lines if "final speed" in line).split()[-2])
    assert error < 0.15 and speed < 0.1


def test_json_and_gif(run_cli, tmp_path):
    gif = tmp_path / "drive.gif"
    args = (*PLAN, "--target", "1.5", "0", "--planner", "cem", "--steps", "5", "--gif", gif, "--json")
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["planner"] == "cem" and summary["target"] == [1.5, 0.0] and summary["steps"] == 5
    assert {"final_position_error", "final_speed", "collision", "is_success"} <= set(summary)
    assert summary["gif"] == str(gif) and gif.stat().st_size > 0


def test_obstacles_are_sampled_by_the_seed(run_cli):
    def obstacles(seed: int) -> list:
        args = (*PLAN, "--target", "5", "1", "--obstacles", "2", "--steps", "1", "--seed", seed, "--json")
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["obstacles"]

    assert len(obstacles(0)) == 2
    assert obstacles(0) == obstacles(0) != obstacles(1)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--target", "1"], "--target"),  # one value
        (["--target", "1", "2", "3"], "3"),  # three values
        (["--target", "1", "x"], "--target"),
        (["--target", "25", "1"], "arena"),
        (["--target", "nan", "1"], "arena"),
        (["--target", "5", "1", "--planner", "ilqr"], "ilqr"),
        (["--target", "5", "1", "--obstacles", "3"], "obstacles"),
        (["--target", "5", "1", "--steps", "0"], "--steps"),
        ([], "--target"),
    ],
)
def test_bad_input_is_one_line(run_cli, args, fragment):
    assert_user_error(run_cli(*PLAN, *args), fragment)


def test_missing_or_unknown_scenario_and_bad_gif_path(run_cli, tmp_path):
    assert_user_error(run_cli("plan"), "Missing command")
    assert_user_error(run_cli("plan", "truck", "--target", "1", "1"), "truck")
    result = run_cli(*PLAN, "--target", "1", "0", "--steps", "1", "--gif", tmp_path / "drive.png")
    assert_user_error(result, ".gif")
    assert not (tmp_path / "drive.png").exists()
