"""Running observation normalisation and reward scaling, as Stable-Baselines3's ``VecNormalize``.

Statistics are updated only while collecting rollouts, saved with the agent, and frozen at evaluation:
``predict`` normalises with the last statistics and never updates them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPSILON = 1e-8


class RunningMeanStd:
    """Mean and variance of every sample seen so far, merged batch by batch (Chan et al. 1979)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = EPSILON  # the prior (mean 0, var 1) weighs next to nothing

    def update(self, batch: np.ndarray) -> None:
        """Fold in a batch ``[B, *shape]``."""
        batch_mean, batch_var, batch_count = batch.mean(axis=0), batch.var(axis=0), len(batch)
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        # plain floats and lists: a 0-d statistic is a numpy scalar, which a checkpoint cannot hold
        return {
            "mean": np.asarray(self.mean).tolist(),
            "var": np.asarray(self.var).tolist(),
            "count": self.count,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = np.array(state["mean"], dtype=np.float64)
        self.var = np.array(state["var"], dtype=np.float64)
        self.count = float(state["count"])


class Normalizer:
    """Observations to (o − μ)/σ and rewards to r/σ_R (σ_R: the spread of the discounted return), clipped.

    Reward scaling divides by the standard deviation of the running discounted return
    R_t = γ R_{t−1} + r_t, not of the reward, and does not centre it, so the sign of every reward is kept
    (Engstrom et al. 2020, "Implementation matters in deep policy gradients").
    """

    def __init__(
        self, obs_shape: tuple[int, ...], n_envs: int, obs: bool, reward: bool, gamma: float, clip: float
    ) -> None:
        self.obs, self.reward, self.gamma, self.clip = obs, reward, gamma, clip
        self.obs_rms = RunningMeanStd(obs_shape)
        self.return_rms = RunningMeanStd()
        self._returns = np.zeros(n_envs)

    def observations(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        """Normalised observations (as float32); ``update`` folds them into the statistics first."""
        if not self.obs:
            return obs.astype(np.float32, copy=False)
        if update:
            self.obs_rms.update(obs)
        normed = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + EPSILON)
        return np.clip(normed, -self.clip, self.clip).astype(np.float32)

    def rewards(self, rewards: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Scaled rewards of one vector step (the statistics always update: only rollouts call this)."""
        if not self.reward:
            return rewards.astype(np.float32, copy=False)
        self._returns = self._returns * self.gamma + rewards
        self.return_rms.update(self._returns)
        self._returns[done] = 0.0
        scaled = rewards / np.sqrt(self.return_rms.var + EPSILON)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"obs_rms": self.obs_rms.state_dict(), "return_rms": self.return_rms.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.obs_rms.load_state_dict(state["obs_rms"])
        self.return_rms.load_state_dict(state["return_rms"])
