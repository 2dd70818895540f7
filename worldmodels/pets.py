"""PETS (Chua et al. 2018): learn a probabilistic ensemble of the env's dynamics from the transitions seen
so far, plan every action on it with a sampling planner (CEM or MPPI) and a known cost, refit as data
arrives.

The loop: a few random steps; fit the ensemble; then act with the planner (receding horizon, on the
ensemble as its Dynamics), storing every transition, and refit every ``refit_every`` steps on all the
data. The planner is given, not built here (``make_planner(dynamics) -> planner`` with ``plan(obs)`` and
``reset()``), so any planner of ``planners/`` fits; so is the cost it plans with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from core.validation import check_positive_int
from worldmodels.ensemble import EnsembleConfig, ProbabilisticEnsemble


class Planner(Protocol):
    def plan(self, state: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


@dataclass
class PETSConfig:
    """When to refit and how: the ensemble's sizes are in ``ensemble`` (EnsembleConfig's fields)."""

    random_steps: int = 250  # uniformly random actions first, to fit a first model
    refit_every: int = 250  # env steps between refits (each on all the data so far)
    epochs: int = 5  # passes over the data per refit
    ensemble: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("random_steps", "refit_every", "epochs"):
            check_positive_int(getattr(self, name), name)


@dataclass
class Episode:
    ret: float
    length: int
    steps_so_far: int  # env steps when it ended


class PETS:
    """``PETS(env, make_planner, **config)``, ``.learn(total_steps)``, ``.predict(obs)``."""

    def __init__(
        self, env: gym.Env | str, make_planner: Callable[[ProbabilisticEnsemble], Planner], **config: Any
    ) -> None:
        self.config = PETSConfig(**config)
        self.env = gym.make(env) if isinstance(env, str) else env
        state_dim = int(np.prod(self.env.observation_space.shape))
        action_dim = int(np.prod(self.env.action_space.shape))
        torch.manual_seed(self.config.seed)
        self.model = ProbabilisticEnsemble(
            EnsembleConfig(state_dim, action_dim, **self.config.ensemble), seed=self.config.seed
        )
        self.planner = make_planner(self.model)
        self.num_timesteps = 0
        self.episodes: list[Episode] = []
        self.fit_losses: list[float] = []
        self.seconds = {"planning": 0.0, "fitting": 0.0}
        self._data: dict[str, list[np.ndarray]] = {"obs": [], "action": [], "next_obs": []}
        self._fitted = False

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """The planner's first action from ``obs`` (SB3's shape: ``(action, state)``)."""
        return np.asarray(self.planner.plan(np.asarray(obs, dtype=np.float32)), dtype=np.float32), None

    def learn(self, total_steps: int) -> PETS:
        """Act in the env for ``total_steps`` steps, refitting the ensemble on schedule."""
        total_steps = check_positive_int(total_steps, "total_steps")
        rng = np.random.default_rng(self.config.seed)
        self.env.action_space.seed(self.config.seed)
        obs, _ = self.env.reset(seed=self.config.seed + len(self.episodes))
        self.planner.reset()
        ret, length = 0.0, 0
        for _ in range(total_steps):
            if self._fitted:
                start = time.perf_counter()
                with torch.no_grad():
                    action, _ = self.predict(obs)
                self.seconds["planning"] += time.perf_counter() - start
            else:
                action = self.env.action_space.sample()
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self._store(obs, action, next_obs)
            self.num_timesteps += 1
            ret, length = ret + float(reward), length + 1
            obs = next_obs
            due = self.num_timesteps >= self.config.random_steps and (
                not self._fitted or self.num_timesteps % self.config.refit_every == 0
            )
            if due:
                self._refit(rng)
            if terminated or truncated:
                self.episodes.append(Episode(ret, length, self.num_timesteps))
                obs, _ = self.env.reset(seed=self.config.seed + len(self.episodes))
                self.planner.reset()
                ret, length = 0.0, 0
        return self

    def _store(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> None:
        # A terminal next_obs is still the true next state: the model learns it like any other.
        self._data["obs"].append(np.asarray(obs, dtype=np.float32))
        self._data["action"].append(np.asarray(action, dtype=np.float32))
        self._data["next_obs"].append(np.asarray(next_obs, dtype=np.float32))

    def _refit(self, rng: np.random.Generator) -> None:
        start = time.perf_counter()
        arrays = [np.stack(self._data[key]) for key in ("obs", "action", "next_obs")]
        losses = self.model.fit(*arrays, epochs=self.config.epochs, seed=int(rng.integers(2**31)))
        self.fit_losses.append(losses[-1])
        self._fitted = True
        self.seconds["fitting"] += time.perf_counter() - start
