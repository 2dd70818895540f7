"""PETS (Chua et al. 2018): learn a probabilistic ensemble of the env's dynamics from the transitions seen
so far, plan every action on it with a sampling planner (CEM or MPPI) and a known cost, refit as data
arrives.

The loop: a few random steps; fit the ensemble; then act with the planner (receding horizon, on the
ensemble as its Dynamics), storing every transition, and refit every ``refit_every`` steps on all the
data. The planner is given, not built here (``make_planner(dynamics) -> planner`` with ``plan(obs)`` and
``reset()``), so any planner of ``planners/`` fits; so is the cost it plans with.

``state_dict()`` holds what learning built (the ensemble with its standardisers, every transition, the
episodes and counters) as tensors, arrays and plain values, so a checkpoint can carry it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from core.errors import UserError
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
    """``PETS(env, make_planner, **config)``, ``.learn(total_steps)``, ``.predict(obs)``.

    ``planner`` plans single observations; a batch of B observations is planned row by row by B planners
    (``planners``, made on first need), so each env copy of a vectorised evaluation keeps its own warm start.
    """

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
        self.make_planner = make_planner
        self.planners = [make_planner(self.model)]
        self.num_timesteps = 0
        self.episodes: list[Episode] = []
        self.fit_losses: list[float] = []
        self.seconds = {"planning": 0.0, "fitting": 0.0}
        self._data: dict[str, list[np.ndarray]] = {"obs": [], "action": [], "next_obs": []}
        self._fitted = False

    @property
    def planner(self) -> Planner:
        """The planner of single observations (and of row 0 of a batch)."""
        return self.planners[0]

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """The planner's first action from ``obs [S]``, or one per row of ``obs [B, S]`` (SB3's shape:
        ``(action, state)``). A planner does not see episodes end: call ``reset_planners(rows)`` when they
        do (evaluation does, through the agent's ``reset_episodes``), or a plan carries into the next
        episode as its warm start."""
        obs = np.asarray(obs, dtype=np.float32)
        with torch.no_grad():
            if obs.ndim == 1:
                return np.asarray(self.planner.plan(obs), dtype=np.float32), None
            while len(self.planners) < len(obs):
                self.planners.append(self.make_planner(self.model))
            actions = [planner.plan(row) for planner, row in zip(self.planners[: len(obs)], obs, strict=True)]
        return np.asarray(actions, dtype=np.float32), None

    def reset_planners(self, rows: np.ndarray | None = None) -> None:
        """Forget the plans of the rows in ``rows`` (a bool mask; None: all): their episodes start."""
        for i, planner in enumerate(self.planners):
            if rows is None or (i < len(rows) and rows[i]):
                planner.reset()

    def learn(self, total_steps: int, callback: Callable[[PETS], bool | None] | None = None) -> PETS:
        """Act in the env for ``total_steps`` more steps, refitting the ensemble on schedule; each call starts
        a fresh episode. ``callback(self)`` runs after every step; returning False stops early."""
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 0:
            raise UserError(f"total_steps must be a non-negative integer, got {total_steps!r}")
        # Seeded by the step count, so that a second call (a resumed run) draws fresh numbers.
        rng = np.random.default_rng(self.config.seed + self.num_timesteps)
        self.env.action_space.seed(self.config.seed + self.num_timesteps)
        obs, _ = self.env.reset(seed=self.config.seed + len(self.episodes))
        self.planner.reset()
        ret, length = 0.0, 0
        for _ in range(total_steps):
            if self._fitted:
                start = time.perf_counter()
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
            if callback is not None and callback(self) is False:
                break
        return self

    def state_dict(self) -> dict[str, Any]:
        """What learning built: the ensemble (weights and standardisers), every transition (the next refit
        trains on them all), the episodes, the fit losses and the step count. The planners' warm starts and
        the optimiser's moments are not kept: a loaded PETS plans afresh, and its next refit starts a new
        AdamW from the saved weights."""
        return {
            "model": self.model.state_dict(),
            "data": dict(zip(("obs", "action", "next_obs"), self._arrays(), strict=True)),
            "episodes": [[e.ret, e.length, e.steps_so_far] for e in self.episodes],
            "fit_losses": list(self.fit_losses),
            "fitted": self._fitted,
            "num_timesteps": self.num_timesteps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (into a PETS built with the same config)."""
        self.model.load_state_dict(state["model"])
        self._data = {key: list(np.asarray(rows, dtype=np.float32)) for key, rows in state["data"].items()}
        self.episodes = [Episode(float(r), int(length), int(steps)) for r, length, steps in state["episodes"]]
        self.fit_losses = [float(loss) for loss in state["fit_losses"]]
        self._fitted = bool(state["fitted"])
        self.num_timesteps = int(state["num_timesteps"])
        self.reset_planners()

    def _arrays(self) -> list[np.ndarray]:
        """The transitions so far as ``[N, S], [N, A], [N, S]`` arrays."""
        state_dim, action_dim = self.model.state_dim, self.model.action_dim
        dims = {"obs": state_dim, "action": action_dim, "next_obs": state_dim}
        return [
            np.stack(self._data[key]) if self._data[key] else np.zeros((0, dim), dtype=np.float32)
            for key, dim in dims.items()
        ]

    def _store(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> None:
        # A terminal next_obs is still the true next state: the model learns it like any other.
        self._data["obs"].append(np.asarray(obs, dtype=np.float32))
        self._data["action"].append(np.asarray(action, dtype=np.float32))
        self._data["next_obs"].append(np.asarray(next_obs, dtype=np.float32))

    def _refit(self, rng: np.random.Generator) -> None:
        start = time.perf_counter()
        losses = self.model.fit(*self._arrays(), epochs=self.config.epochs, seed=int(rng.integers(2**31)))
        self.fit_losses.append(losses[-1])
        self._fitted = True
        self.seconds["fitting"] += time.perf_counter() - start
