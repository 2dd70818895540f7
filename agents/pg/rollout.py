"""A fixed-length on-policy rollout from ``n_envs`` env copies, and the returns and advantages built on it.

The vector env runs in Gymnasium's SAME_STEP autoreset mode: a step that ends an episode returns the
next episode's first observation, its reward is real, and the true last observation is in
``info["final_obs"]``. So row t always holds (s_t, a_t, r_t) of one episode, and a truncated step
bootstraps from V of that final observation, kept as ``next_values[t]``.
"""

from __future__ import annotations

import numpy as np


class RolloutBuffer:
    """``[n_steps, n_envs]`` arrays of obs, actions, rewards, terminated, truncated, log-probs and values.

    ``next_values[t]`` is V(s_{t+1}) of the true next state: V(final obs) where step t was truncated,
    V(obs[t+1]) otherwise, and V of the observation after the rollout on its last row (set by ``finish``).
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        action_shape: tuple[int, ...],
        action_dtype: type,
    ) -> None:
        self.n_steps, self.n_envs = n_steps, n_envs
        size = (n_steps, n_envs)
        self.obs = np.zeros(size + obs_shape, dtype=np.float32)
        self.actions = np.zeros(size + action_shape, dtype=action_dtype)
        self.rewards = np.zeros(size, dtype=np.float32)
        self.terminated = np.zeros(size, dtype=bool)
        self.truncated = np.zeros(size, dtype=bool)
        self.log_probs = np.zeros(size, dtype=np.float32)
        self.values = np.zeros(size, dtype=np.float32)
        self.next_values = np.zeros(size, dtype=np.float32)
        self.pos = 0

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        log_probs: np.ndarray,
        values: np.ndarray,
        final_values: np.ndarray,
    ) -> None:
        """Store one vector step; ``final_values`` is V(final obs) for the truncated envs (else ignored)."""
        t = self.pos
        self.obs[t], self.actions[t], self.rewards[t] = obs, actions, rewards
        self.terminated[t], self.truncated[t] = terminated, truncated
        self.log_probs[t], self.values[t] = log_probs, values
        self.next_values[t] = np.where(truncated, final_values, 0.0)
        self.pos += 1

    def finish(self, last_values: np.ndarray) -> None:
        """Link each row to the next: V(s_{t+1}) = values[t+1] unless step t ended an episode."""
        if self.pos != self.n_steps:
            raise RuntimeError(f"rollout holds {self.pos} of {self.n_steps} steps")
        done = self.terminated | self.truncated
        following = np.concatenate([self.values[1:], last_values[None]])
        self.next_values = np.where(done, self.next_values, following).astype(np.float32)

    def reset(self) -> None:
        self.pos = 0


def returns_to_go(
    rewards: np.ndarray, next_values: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, gamma: float
) -> np.ndarray:
    """G_t = r_t + γ G_{t+1} within an episode; 0 after termination; V(s_{t+1}) after truncation or cut-off.

    Arrays are ``[T, n_envs]``. Where the rollout cuts an episode off (its last row) or the time limit
    truncates it, the unseen rest of the return is estimated by ``next_values`` (zeros: left out).
    """
    returns = np.zeros_like(rewards)
    following = next_values[-1]
    for t in reversed(range(len(rewards))):
        bootstrap = np.where(truncated[t], next_values[t], following)
        returns[t] = rewards[t] + gamma * (1.0 - terminated[t]) * bootstrap
        following = returns[t]
    return returns


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates (Schulman et al. 2016) and the value targets R_t = A_t + V(s_t).

    δ_t = r_t + γ V(s_{t+1}) (1 − terminated_t) − V(s_t);  A_t = δ_t + γλ (1 − done_t) A_{t+1},
    with done = terminated or truncated, and A_T = 0 past the rollout. λ = 1 gives returns-to-go minus V.
    """
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    advantages = np.zeros_like(rewards)
    following = np.zeros_like(rewards[0])
    for t in reversed(range(len(rewards))):
        following = deltas[t] + gamma * lam * (1.0 - (terminated[t] | truncated[t])) * following
        advantages[t] = following
    return advantages, advantages + values
