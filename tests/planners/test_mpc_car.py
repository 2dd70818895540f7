"""The planners drive the kinematic car: to a target, round an obstacle; the lab's figure; clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import UserError
from envs.car.env import KinematicCarEnv
from rlsuite.demo_mpc import car_planner, drive, lab_trajectories, plan_car, plot_lab_trajectories


def test_mppi_parks_the_car_on_a_near_target() -> None:
    run = drive(KinematicCarEnv(target=(2.0, 0.5), max_steps=80), "mppi")
    assert run.info["distance"] < 0.15 and abs(run.info["speed"]) < 0.1
    assert run.steps == 80 and len(run.step_ms) == 80


def test_mppi_goes_round_an_obstacle_in_its_way() -> None:
    env = KinematicCarEnv(target=(4.0, 0.0), max_steps=50)
    run = drive(env, "mppi", options={"obstacles": [(2.0, 0.1, 0.4)]})
    assert not run.info["collision"]
    assert max(abs(y) for _, y in env.path) > 0.4 + 0.35  # it went round, not through
    assert run.info["distance"] < 1.0


def test_plan_car_writes_a_gif_and_a_json_summary(tmp_path) -> None:
    summary = plan_car((1.5, 0.0), "cem", gif=tmp_path / "car.gif", max_steps=10)
    assert (tmp_path / "car.gif").stat().st_size > 0
    assert summary["steps"] == 10 and summary["planner"] == "cem"
    json.dumps(summary)  # machine-readable as it is


def test_lab_figure(tmp_path) -> None:
    paths = lab_trajectories(steps=3, horizons=(2, 4))
    assert set(paths) == {
        "final position",
        "final position and speed",
        "mean distance",
        "softmin of distances",
    }
    assert all(points.shape == (4, 2) for by_horizon in paths.values() for points in by_horizon.values())
    assert np.all(paths["final position"][2][-1, 0] > 0)  # it moved towards the target
    assert plot_lab_trajectories(paths, tmp_path / "lab.png").stat().st_size > 0


def test_unknown_planner_is_a_user_error() -> None:
    env = KinematicCarEnv()
    env.reset()
    with pytest.raises(UserError, match="unknown planner 'ilqr'"):
        car_planner(env, "ilqr")
