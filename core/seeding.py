"""One call that seeds every random source a run touches, so a seed reproduces the run."""

from __future__ import annotations

import json
import random

import gymnasium as gym
import numpy as np

from core.validation import check_seed


def seed_everything(seed: int, env: gym.Env | None = None) -> np.random.Generator:
    """Seed python `random`, numpy's global RNG and torch (CPU); and `env` if given.

    The env gets its action and observation spaces seeded and is reset with `seed`, the Gymnasium
    way of seeding an env's own RNG. Returns a fresh `np.random.default_rng(seed)` for code that
    prefers an explicit generator to global state.
    """
    import torch  # here, not at the top: the tabular agents use this module and never need torch

    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if env is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
        env.reset(seed=seed)
    return np.random.default_rng(seed)


def generator_to_json(rng: np.random.Generator) -> str:
    """The state of a numpy Generator as JSON text, so a checkpoint can hold it."""
    return json.dumps(rng.bit_generator.state)


def generator_from_json(text: str) -> np.random.Generator:
    """A numpy Generator in exactly the state `generator_to_json` saved."""
    state = json.loads(text)
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
