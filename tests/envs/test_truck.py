"""The truck env: one source of truth with the kinematics, how episodes end, starts, and the API checks."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the env ids)
from core.errors import UserError
from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import TruckKinematics
from envs.truck.outcome import ANGLE_WEIGHT, CRASH_PENALTY, DOCK_BONUS

KIN = TruckKinematics()
STRAIGHT = np.zeros(1, dtype=np.float32)


def test_batched_torch_step_equals_five_env_steps():
    env = TruckBackerUpperEnv()
    env.reset(seed=3)
    states, actions, successors = [], [], []
    for phi in (0.3, -0.7, 0.1, 0.785, -0.2):
        states.append(env.state)
        actions.append([phi])
        env.step(np.array([phi], dtype=np.float32))
        successors.append(env.state)
    # The env steps with the float32 action it was given, widened to float64.
    action_batch = torch.tensor(np.array(actions, dtype=np.float32), dtype=torch.float64)
    batched = KIN.step(torch.tensor(np.array(states)), action_batch)
    torch.testing.assert_close(batched, torch.tensor(np.array(successors)), atol=0, rtol=0)


def _step_from(state, action=STRAIGHT, **kwargs):
    env = TruckBackerUpperEnv(**kwargs)
    env.reset(seed=0, options={"state": state})
    return env.step(action)


def test_jackknife_ends_the_episode():
    # Cab and trailer 88.8° apart; backing folds them further: θ1' = 1.55 + 0.025 sin(1.55) > θ0 + 90°.
    _, reward, terminated, truncated, info = _step_from((20.0, 0.0, 0.0, 1.55))
    assert terminated and not truncated
    assert info["jackknife"] and not info["is_success"]
    assert info["termination_reason"] == "jackknife"
    assert reward < -CRASH_PENALTY + 1


def test_leaving_the_yard_ends_the_episode():
    # Facing −y, backing moves +y: the trailer rear goes from y = 9.95 to 10.05.
    _, reward, terminated, _, info = _step_from((20.0, 5.95, -math.pi / 2, -math.pi / 2))
    assert terminated and info["termination_reason"] == "left_yard"
    assert not info["jackknife"] and not info["is_success"]
    assert reward < -CRASH_PENALTY + 1


def test_docking_square_on_target_succeeds():
    # θ0 = θ1 = 0: the trailer rear at x = 0.05 crosses the wall at y = 0.3.
    _, reward, terminated, _, info = _step_from((4.05, 0.3, 0.0, 0.0))
    assert terminated and info["is_success"] and info["termination_reason"] == "docked"
    assert info["final_distance"] == pytest.approx(math.hypot(0.05, 0.3))
    assert info["final_angle_error_deg"] == pytest.approx(0.0)
    # The rear moves from (0.05, 0.3) to (−0.05, 0.3): no progress in distance, so only the bonus.
    assert reward == pytest.approx(DOCK_BONUS)


def test_docking_respects_target_y():
    _, _, _, _, info = _step_from((4.05, 5.5, 0.0, 0.0), target_y=5.0)
    assert info["is_success"]
    _, _, _, _, info = _step_from((4.05, 0.3, 0.0, 0.0), target_y=5.0)
    assert info["termination_reason"] == "missed_dock" and not info["is_success"]


def test_arriving_off_target_or_askew_misses_the_dock():
    _, _, terminated, _, info = _step_from((4.05, 3.0, 0.0, 0.0))  # 3 units off the dock
    assert terminated and info["termination_reason"] == "missed_dock"
    # Square to nothing: both angles 0.3 rad (17°), rear at (0.05, 0) on the dock itself.
    x, y = 0.05 + 4 * math.cos(0.3), 4 * math.sin(0.3)
    _, _, terminated, _, info = _step_from((x, y, 0.3, 0.3))
    assert terminated and info["termination_reason"] == "missed_dock"
    assert info["final_angle_error_deg"] == pytest.approx(math.degrees(0.3))


def test_time_limit_truncates():
    env = TruckBackerUpperEnv(max_steps=3)
    env.reset(seed=0, options={"state": (20.0, 0.0, 0.0, 0.0)})
    for _ in range(2):
        assert env.step(STRAIGHT)[3] is False
    _, _, terminated, truncated, info = env.step(STRAIGHT)
    assert truncated and not terminated and info["termination_reason"] == "time_limit"


def test_rewards_telescope_to_the_progress_made():
    env = TruckBackerUpperEnv()
    env.reset(seed=0, options={"state": (20.0, 2.0, 0.1, 0.0)})
    start = env.step(STRAIGHT)[4]
    total = 0.0
    for _ in range(20):
        _, reward, _, _, info = env.step(np.array([0.2], dtype=np.float32))
        total += reward

    def potential(i):
        return -(i["final_distance"] + ANGLE_WEIGHT * math.radians(i["final_angle_error_deg"]))

    assert total == pytest.approx(potential(info) - potential(start))


def test_random_starts_are_valid_and_reproducible():
    env = TruckBackerUpperEnv()
    starts = []
    for seed in range(300):
        env.reset(seed=seed)
        state = env.state
        starts.append(state)
        tensor = torch.tensor(state).reshape(1, 4)
        assert bool(KIN.in_yard(tensor)) and not bool(KIN.is_jackknifed(tensor))
        assert 10 <= state[0] <= 40 and -10 <= state[1] <= 10
        assert 0 <= state[2] < 2 * math.pi and -math.pi / 4 <= state[3] - state[2] < math.pi / 4
    again = TruckBackerUpperEnv()
    for seed in (0, 7, 299):
        again.reset(seed=seed)
        np.testing.assert_array_equal(again.state, starts[seed])
    assert len({tuple(s) for s in starts}) == len(starts)


def test_observation_layouts():
    raw = TruckBackerUpperEnv()
    sincos = TruckBackerUpperEnv(angles="sincos", target_conditioned=True, target_y=-2.0)
    state = (20.0, 1.0, 2 * math.pi + 0.5, 2 * math.pi + 0.2)  # angles come back wrapped
    obs_raw, _ = raw.reset(options={"state": state})
    obs_sincos, _ = sincos.reset(options={"state": state})
    rear = (20.0 - 4 * math.cos(0.2), 1.0 - 4 * math.sin(0.2))
    np.testing.assert_allclose(obs_raw, [20.0, 1.0, 0.5, *rear, 0.2], rtol=1e-6)
    expected = [20.0, 1.0, math.sin(0.5), math.cos(0.5), *rear, math.sin(0.2), math.cos(0.2), -2.0]
    np.testing.assert_allclose(obs_sincos, expected, rtol=1e-6, atol=1e-6)
    assert raw.observation_space.shape == (6,) and sincos.observation_space.shape == (9,)


@pytest.mark.parametrize("bad", [np.array([np.nan], dtype=np.float32), np.zeros(2, dtype=np.float32), "left"])
def test_bad_actions_raise_a_clear_value_error(bad):
    env = TruckBackerUpperEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)


def test_bad_options_and_arguments():
    env = TruckBackerUpperEnv()
    for state in [(1.0, 0.0, 0.0, 0.0), (20.0, 0.0, 0.0, 2.0), (20.0, 0.0, 0.0), (np.nan, 0, 0, 0)]:
        with pytest.raises(ValueError, match="options\\['state'\\]"):
            env.reset(options={"state": state})
    with pytest.raises(UserError, match="angles"):
        TruckBackerUpperEnv(angles="degrees")
    with pytest.raises(UserError, match="target_y"):
        TruckBackerUpperEnv(target_y=12.0)
    with pytest.raises(UserError, match="render mode"):
        TruckBackerUpperEnv(render_mode="ansi")


@pytest.mark.parametrize(
    "kwargs", [{}, {"angles": "sincos"}, {"angles": "sincos", "target_conditioned": True}]
)
def test_env_checkers_are_clean(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # SB3 recommends a [−1, 1] action box; ours is the steering angle in radians, by design.
        warnings.filterwarnings("ignore", message=".*symmetric and normalized Box action space.*")
        gym_check_env(TruckBackerUpperEnv(**kwargs), skip_render_check=True)
        sb3_check_env(TruckBackerUpperEnv(**kwargs), warn=True)


def test_gym_make_after_importing_envs():
    env = gym.make("rlsuite/TruckBackerUpper-v0", angles="sincos")
    obs, info = env.reset(seed=1)
    assert isinstance(env.unwrapped, TruckBackerUpperEnv)
    assert obs.shape == (8,) and info["termination_reason"] is None
    env.close()


def test_target_range_draws_a_target_per_reset_seeded():
    env = TruckBackerUpperEnv(target_conditioned=True, target_range=(-5.0, 5.0), render_mode="rgb_array")
    targets = []
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        assert obs[-1] == np.float32(env.target_y)
        targets.append(env.target_y)
        assert env.render().shape[2] == 3
    assert all(-5 <= t <= 5 for t in targets) and len(set(targets)) == 20
    env.reset(seed=3)
    assert env.target_y == targets[3]
    with pytest.raises(UserError, match="target_range"):
        TruckBackerUpperEnv(target_range=(-12.0, 0.0))
