"""A tiny env whose episodes are fully determined by the reset seed, for exact checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


class CountdownEnv(gym.Env):
    """Episodes last `target` steps (drawn at reset from 1..6), +1 reward per step.

    The final info reports `is_success` (target is even) and `final_distance` (= target), so
    the expected returns and rates of seeded episodes can be computed independently.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 10.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.target = 0
        self.t = 0
        self.closed = False

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.target = int(self.np_random.integers(1, 7))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        terminated = self.t >= self.target
        info = (
            {"is_success": self.target % 2 == 0, "final_distance": float(self.target)} if terminated else {}
        )
        return self._obs(), 1.0, terminated, False, info

    def render(self):
        return np.full((8, 12, 3), 20 * self.t, dtype=np.uint8)  # a different frame every step

    def close(self):
        self.closed = True

    def _obs(self):
        return np.array([self.target - self.t], dtype=np.float32)


def countdown_target(seed: int) -> int:
    """The episode length CountdownEnv draws for a reset with `seed`."""
    env = CountdownEnv()
    env.reset(seed=seed)
    return env.target


@pytest.fixture
def countdown():
    return CountdownEnv


@pytest.fixture
def target_of():
    return countdown_target
