"""KinematicCar-v0: the Gymnasium contract, the equations it steps, endings, obstacles, pictures."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from core.errors import UserError
from envs import CAR_ID
from envs.car.env import CAR_RADIUS, KinematicCarEnv
from envs.car.kinematics import CarKinematics
from envs.car.render import OBSTACLE, TARGET


def test_check_env_is_clean() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # The checkers recommend a [−1, 1] action box; ours is (φ in rad, a in m/s²), the lab's units.
        warnings.filterwarnings("ignore", message=".*symmetric and normalized.*")
        for kwargs in ({"obstacles": 2}, {"target": None}):
            check_env(KinematicCarEnv(**kwargs), skip_render_check=True)
            sb3_check_env(KinematicCarEnv(**kwargs), warn=True)


def test_registered_and_made_by_name() -> None:
    env = gym.make(CAR_ID, target=(2.0, -1.0))
    obs, info = env.reset(seed=0)
    assert obs.shape == (7,) and obs[5:].tolist() == [2.0, -1.0]
    assert info["distance"] == pytest.approx(math.hypot(2.0, 1.0))


def test_env_steps_the_torch_kinematics() -> None:
    env = KinematicCarEnv()
    env.reset(options={"state": (0.5, -0.2, 0.3, 1.5)})
    car = CarKinematics()
    state = torch.tensor([[0.5, -0.2, 0.3, 1.5]], dtype=torch.float64)
    for action in ([0.2, 1.0], [-0.4, -0.5], [3.0, 9.0]):  # the last beyond both bounds: clamped
        env.step(np.array(action, dtype=np.float32))
        state = car.step(state, torch.tensor([action], dtype=torch.float32).double())
        np.testing.assert_allclose(env.state, state[0].numpy(), atol=1e-12)


def test_footprint_is_the_two_axle_centres() -> None:
    car = CarKinematics(wheelbase=2.0)
    points = car.footprint(torch.tensor([[1.0, 1.0, math.pi / 2, 0.0]], dtype=torch.float64))
    np.testing.assert_allclose(points[0].numpy(), [[1.0, 1.0], [1.0, 3.0]], atol=1e-12)


def test_kinematics_follow_the_tricycle_equations() -> None:
    car = CarKinematics(dt=0.1, wheelbase=2.0)
    state = torch.tensor([[1.0, 2.0, 0.5, 3.0]], dtype=torch.float64)
    nxt = car.step(state, torch.tensor([[0.3, -1.0]], dtype=torch.float64))[0]
    expected = [1 + 0.3 * math.cos(0.5), 2 + 0.3 * math.sin(0.5), 0.5 + 0.1 * 1.5 * math.tan(0.3), 2.9]
    np.testing.assert_allclose(nxt.numpy(), expected, atol=1e-12)


def test_collision_terminates_with_a_penalty() -> None:
    env = KinematicCarEnv(obstacles=[(2.5, 0.0, 0.5)])
    env.reset(options={"state": (0.0, 0.0, 0.0, 2.0)})
    for _ in range(10):
        _, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
        if terminated:
            break
    assert terminated and not truncated and info["collision"] and info["termination_reason"] == "collision"
    assert reward < -10
    # The front axle (1 m ahead) touches at x > 2.5 − 0.5 − CAR_RADIUS − 1: the first step past that ends it.
    touch = 2.5 - 0.5 - CAR_RADIUS - 1.0
    assert touch < env.state[0] <= touch + 0.2 + 1e-9
    with pytest.raises(RuntimeError):
        env.step(np.zeros(2, dtype=np.float32))


def test_truncates_at_the_time_limit_and_reports_success() -> None:
    env = KinematicCarEnv(target=(0.05, 0.0), max_steps=3)
    env.reset()
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
    assert truncated and not terminated and info["termination_reason"] == "time_limit"
    assert info["is_success"]


def test_sampled_obstacles_lie_on_the_way_and_are_seeded() -> None:
    env = KinematicCarEnv(target=(5.0, 1.0), obstacles=2)
    env.reset(seed=7)
    first = list(env.obstacles)
    env.reset(seed=7)
    assert env.obstacles == first and len(first) == 2
    for cx, cy, r in first:
        # Within 0.3 of the start-target line, clear of start and target.
        assert abs(-1.0 * cx + 5.0 * cy) / math.hypot(5.0, 1.0) <= 0.3 + 1e-9
        for px, py in ((0.0, 0.0), (1.0, 0.0), (5.0, 1.0)):  # the start's axles and the target
            assert math.hypot(cx - px, cy - py) > r + CAR_RADIUS
    env.reset(seed=8)
    assert env.obstacles != first


def test_bad_settings() -> None:
    with pytest.raises(UserError):
        KinematicCarEnv(target=(50.0, 0.0))
    with pytest.raises(UserError):
        KinematicCarEnv(obstacles=[(1.0, 1.0, -0.5)])
    with pytest.raises(UserError):
        KinematicCarEnv(obstacles=5)
    env = KinematicCarEnv()
    env.reset()
    with pytest.raises(ValueError, match="two finite numbers"):
        env.step(np.zeros(3))


def test_rgb_array_frame_shows_target_and_obstacles() -> None:
    env = KinematicCarEnv(obstacles=2, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([0.3, 1.0], dtype=np.float32))
    env.plan_path = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 0.7]])
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert TARGET in colours and OBSTACLE in colours
    env.close()


def test_human_mode_draws_into_a_window() -> None:
    env = KinematicCarEnv(render_mode="human")
    env.reset(seed=0)
    assert env.render() is None
    env.close()
