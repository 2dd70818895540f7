import random

import gymnasium as gym
import numpy as np
import pytest
import torch

from core.errors import UserError
from core.seeding import seed_everything


def _draws():
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_reproduces_python_numpy_and_torch_draws():
    rng = seed_everything(7)
    first = _draws(), rng.random()
    rng = seed_everything(7)
    assert (_draws(), rng.random()) == first
    seed_everything(8)
    assert _draws() != first[0]


def test_returns_a_generator_seeded_like_default_rng():
    assert seed_everything(3).random() == np.random.default_rng(3).random()


def test_seeds_env_spaces_and_reset():
    env = gym.make("CartPole-v1")
    seed_everything(5, env)
    obs = env.unwrapped.state.copy()
    sample = env.action_space.sample(), env.observation_space.sample()
    seed_everything(5, env)
    assert np.array_equal(env.unwrapped.state, obs)
    resampled = env.action_space.sample(), env.observation_space.sample()
    assert resampled[0] == sample[0] and np.array_equal(resampled[1], sample[1])


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", 2**32])
def test_rejects_bad_seeds(seed):
    with pytest.raises(UserError, match="seed must be an integer"):
        seed_everything(seed)
