"""One call that seeds every random source a run touches, so a seed reproduces the run."""

from __future__ import annotations

import random
from numbers import Integral

import gymnasium as gym
import numpy as np
import torch

from core.errors import UserError

_MAX_SEED = 2**32 - 1  # numpy's legacy global RNG accepts seeds up to this


def check_seed(seed: object) -> int:
    """Return `seed` as an int, or raise UserError if it is not an integer in [0, 2**32 - 1]."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed <= _MAX_SEED:
        raise UserError(f"seed must be an integer between 0 and {_MAX_SEED}, got {seed!r}")
    return int(seed)


def seed_everything(seed: int, env: gym.Env | None = None) -> np.random.Generator:
    """Seed python `random`, numpy's global RNG and torch (CPU); and `env` if given.

    The env gets its action and observation spaces seeded and is reset with `seed`, the Gymnasium
    way of seeding an env's own RNG. Returns a fresh `np.random.default_rng(seed)` for code that
    prefers an explicit generator to global state.
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if env is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
        env.reset(seed=seed)
    return np.random.default_rng(seed)
