"""The policy convention shared by evaluation and recording.

A policy is either an object with Stable-Baselines3's `.predict(obs, deterministic=...)` returning
`(actions, state)`, or a plain callable `policy(obs) -> actions`. Both take a batch of
observations and return a batch of actions.

A policy with memory across steps (a planner's warm start) may also define `reset_episodes(mask)`:
evaluation and recording call it, through `start_episodes`, with the batch rows that begin a new
episode (SB3's `episode_start`), so that nothing carries over from one episode to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from core.errors import UserError


@runtime_checkable
class Predictor(Protocol):
    """Anything with SB3's `predict`: an agent, or a planner wrapped as one."""

    def predict(self, observation: Any, deterministic: bool = True) -> tuple[Any, Any]: ...


Policy = Predictor | Callable[[Any], Any]


def act(policy: Policy, obs_batch: Any, deterministic: bool = True) -> Any:
    """Actions for a batch of observations, under either policy convention."""
    if isinstance(policy, Predictor):
        actions, _state = policy.predict(obs_batch, deterministic=deterministic)
        return actions
    if callable(policy):
        return policy(obs_batch)
    raise UserError(f"a policy needs a .predict method or must be callable, got {type(policy).__name__}")


def act_one(policy: Policy, obs: Any, env: gym.Env, deterministic: bool = True) -> Any:
    """The action for a single observation: batch it as one, act, and unbatch the action."""
    batch = concatenate(env.observation_space, [obs], create_empty_array(env.observation_space, n=1))
    actions = act(policy, batch, deterministic)
    return next(iter(iterate(batch_space(env.action_space, 1), actions)))


def start_episodes(policy: Policy, mask: Any) -> None:
    """Tell a policy with memory which rows of the batch begin a new episode (`mask`, bool [B])."""
    reset_episodes = getattr(policy, "reset_episodes", None)
    if callable(reset_episodes):
        reset_episodes(np.asarray(mask, dtype=bool))
