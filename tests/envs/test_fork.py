"""The fork env: both outcomes of the fork occur, only there, and the API checks pass."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the env ids)
from core.errors import UserError
from envs.fork import ForkEnv

STILL = np.zeros(2, dtype=np.float32)


def test_check_env_and_registration():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(ForkEnv(render_mode="rgb_array"), skip_render_check=False)
    assert not [w for w in caught if "infinity" in str(w.message)]  # a bounded observation space
    env = gym.make("rlsuite/Fork-v0")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,)


def _fork_outcomes(p_left, episodes=200):
    env = ForkEnv(p_left=p_left)
    sides = []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        while True:
            nxt, _, terminated, truncated, _ = env.step(STILL)
            if obs[2] == 0.0 and nxt[2] != 0.0:  # the fork transition
                assert obs[3] < 0.0 <= nxt[3]
                sides.append(np.sign(nxt[2]))
            elif obs[2] != 0.0:  # after the fork the side is kept
                assert np.sign(nxt[2]) == np.sign(obs[2])
            obs = nxt
            if terminated or truncated:
                break
    return np.array(sides)


def test_the_other_agent_forks_left_or_right_at_random():
    sides = _fork_outcomes(0.5)
    assert len(sides) >= 190  # one fork per episode (a rare collision may end one first)
    assert 0.35 < (sides < 0).mean() < 0.65
    assert (_fork_outcomes(1.0, 20) < 0).all()


def test_ego_moves_with_its_action_and_same_seed_same_episode():
    env = ForkEnv()
    obs, _ = env.reset(seed=1)
    nxt, *_ = env.step(np.array([1.0, -1.0], dtype=np.float32))
    np.testing.assert_allclose(nxt[:2] - obs[:2], [0.5, -0.5], atol=1e-6)
    a = [ForkEnv().reset(seed=4)[0] for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="p_left"):
        ForkEnv(p_left=1.5)
    with pytest.raises(UserError, match="render mode"):
        ForkEnv(render_mode="human")


def test_observations_stay_in_a_bounded_space_and_an_ended_episode_cannot_step():
    for env in (ForkEnv(), ForkEnv(lateral=0.5, ego_speed=1.0, fork_after=6, max_steps=4)):
        assert np.isfinite(env.observation_space.high).all()
        rng = np.random.default_rng(0)
        for seed in range(100):
            obs, _ = env.reset(seed=seed)
            assert env.observation_space.contains(obs)
            done = False
            while not done:
                action = np.sign(rng.uniform(-1, 1, 2)).astype(np.float32)  # full speed: the extremes
                obs, _, terminated, truncated, _ = env.step(action)
                assert env.observation_space.contains(obs), obs
                done = terminated or truncated
        with pytest.raises(RuntimeError, match="reset"):
            env.step(STILL)
    with pytest.raises(RuntimeError, match="reset"):
        ForkEnv().step(STILL)
