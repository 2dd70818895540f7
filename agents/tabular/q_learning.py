"""Tabular Q-learning (Watkins & Dayan, 1992) with ε-greedy exploration, for Discrete spaces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from agents.base import Agent, StepBoundaryInterrupts, epsilon_schedule
from core.errors import UserError
from core.progress import progress_bar as open_progress_bar
from core.seeding import generator_from_json, generator_to_json
from core.validation import check_range, check_seed

if TYPE_CHECKING:
    from core.metrics import MetricsLogger

LR_SCHEDULES = ("constant", "linear", "visits")
VISITS_EXPONENT = 0.6  # ω of the "visits" schedule, inside (1/2, 1] where Robbins–Monro holds


@dataclass
class QLearningConfig:
    """Hyperparameters of :class:`QLearning`; "learn()" below means the steps of the current learn call."""

    learning_rate: float = 0.5
    """Step size α, or its starting value under the ``linear`` and ``visits`` schedules."""
    lr_schedule: str = "visits"
    """``constant``; ``linear`` (to ``final_learning_rate`` by the end of learn()); ``visits``
    (α / (1 + n(s,a))^0.6, n = earlier updates of (s,a): a Robbins–Monro schedule, Σα = ∞ and Σα² < ∞,
    whose convergence rate Even-Dar & Mansour, "Learning Rates for Q-learning", JMLR 2003, bound)."""
    final_learning_rate: float = 0.01
    """Where the ``linear`` schedule ends."""
    gamma: float = 0.9
    """Discount factor γ."""
    exploration_initial_eps: float = 1.0
    """ε at the start of learn()."""
    exploration_final_eps: float = 0.05
    """ε after the exploration phase, and for ``predict(deterministic=False)``."""
    exploration_fraction: float = 0.5
    """Fraction of learn() over which ε decays linearly from its initial to its final value."""
    seed: int = 0
    """Seeds the agent's generator (exploration, tie-breaking) and the env's first reset."""

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(f"unknown lr_schedule {self.lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}")
        check_range("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        check_range("final_learning_rate", self.final_learning_rate, 0.0, 1.0)
        check_range("gamma", self.gamma, 0.0, 1.0)
        check_range("exploration_initial_eps", self.exploration_initial_eps, 0.0, 1.0)
        check_range("exploration_final_eps", self.exploration_final_eps, 0.0, 1.0)
        check_range("exploration_fraction", self.exploration_fraction, 0.0, 1.0, low_open=True)
        check_seed(self.seed)


class QLearning(Agent):
    """Off-policy TD control on a Q table: ``QLearning("rlsuite/GridWorld-v0").learn(50_000)``."""

    kind = "q-learning"
    config_class = QLearningConfig
    config: QLearningConfig

    def __init__(self, env: gym.Env | str, **hyperparams: Any) -> None:
        super().__init__(env, **hyperparams)
        for name, space in (("observation", self.env.observation_space), ("action", self.env.action_space)):
            if not isinstance(space, gym.spaces.Discrete):
                raise UserError(f"Q-learning needs a Discrete {name} space, got {space}")
        shape = (int(self.env.observation_space.n), int(self.env.action_space.n))
        self._q = np.zeros(shape)
        self._visits = np.zeros(shape, dtype=np.int64)
        self.rng = np.random.default_rng(self.seed)
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []
        # The episode in progress: how the env was reset and the actions since, so that a loaded agent
        # can replay it and continue exactly where the saved one stopped.
        self._episode_start: tuple[int | None, str | None] | None = None
        self._episode_actions: list[int] = []
        self._episode_return = 0.0
        self._obs: int | None = None

    @property
    def q_table(self) -> np.ndarray:
        """The Q table ``[n_states, n_actions]`` (a read-only view)."""
        view = self._q.view()
        view.flags.writeable = False
        return view

    def learn(
        self,
        total_steps: int,
        callback: Callable[[QLearning], bool | None] | None = None,
        progress_bar: bool = True,
        logger: MetricsLogger | None = None,
    ) -> QLearning:
        """Run ``total_steps`` more env steps of ε-greedy Q-learning; ``callback(self)`` False stops early.

        Schedules run from ``num_timesteps`` to ``num_timesteps + total_steps``, so an interrupted call
        resumed with the remaining steps follows the same schedule as an uninterrupted one.
        """
        if total_steps < 0:
            raise UserError(f"total_steps must be non-negative, got {total_steps}")
        horizon = self.num_timesteps + total_steps
        if self._obs is None:
            self._obs = self._reset(self.seed) if self._episode_start is None else self._replay_episode()
        bar = open_progress_bar(total_steps, desc="q-learning", enabled=None if progress_bar else False)
        with bar, StepBoundaryInterrupts() as interrupts:
            for _ in range(total_steps):
                progress = self.num_timesteps / horizon
                epsilon = epsilon_schedule(self.config, progress)
                s = self._obs
                a = self._explore(s, epsilon)
                s_next, reward, terminated, truncated, _ = self.env.step(a)
                alpha = self._alpha(s, a, progress)
                self._update(s, a, float(reward), int(s_next), terminated, alpha)
                self.num_timesteps += 1
                self._episode_actions.append(a)
                self._episode_return += float(reward)
                self._obs = int(s_next)
                if terminated or truncated:
                    self._end_episode(logger, epsilon=epsilon, learning_rate=alpha)
                    bar.set_postfix(episode_return=self.episode_returns[-1], refresh=False)
                    self._obs = self._reset(seed=None)
                bar.update(1)
                if callback is not None and callback(self) is False:
                    break
                interrupts.check()
        return self

    def _update(self, s: int, a: int, reward: float, s_next: int, terminated: bool, alpha: float) -> None:
        # Q(s,a) ← Q(s,a) + α [r + γ (1 − terminated) max_a' Q(s',a') − Q(s,a)]
        # Only termination zeroes the bootstrap: a time-limit truncation still has a future.
        target = reward + self.config.gamma * (1.0 - terminated) * self._q[s_next].max()
        self._q[s, a] += alpha * (target - self._q[s, a])
        self._visits[s, a] += 1

    def _alpha(self, s: int, a: int, progress: float) -> float:
        c = self.config
        if c.lr_schedule == "visits":
            return c.learning_rate / (1.0 + self._visits[s, a]) ** VISITS_EXPONENT
        if c.lr_schedule == "linear":
            return c.learning_rate + progress * (c.final_learning_rate - c.learning_rate)
        return c.learning_rate

    def _explore(self, s: int, epsilon: float) -> int:
        """ε-greedy: a uniform action with probability ε, else a greedy one with ties broken at random."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self._q.shape[1]))
        q = self._q[s]
        return int(self.rng.choice(np.flatnonzero(q == q.max())))

    def _end_episode(self, logger: MetricsLogger | None, **scalars: float) -> None:
        self.episode_returns.append(self._episode_return)
        self.episode_lengths.append(len(self._episode_actions))
        if logger is not None:
            logger.log(
                self.num_timesteps,
                episode_return=self.episode_returns[-1],
                episode_length=self.episode_lengths[-1],
                **scalars,
            )

    def _reset(self, seed: int | None) -> int:
        """Start an episode, noting the seed or the env's generator state so the episode can be replayed."""
        rng_state = None if seed is not None else generator_to_json(self.env.np_random)
        self._episode_start = (seed, rng_state)
        self._episode_actions, self._episode_return = [], 0.0
        obs, _ = self.env.reset(seed=seed)
        return int(obs)

    def _replay_episode(self) -> int:
        """Bring a fresh env to where the saved one was: same reset, same generator, same actions."""
        seed, rng_state = self._episode_start
        if rng_state is not None:
            self.env.np_random = generator_from_json(rng_state)
        obs, _ = self.env.reset(seed=seed)
        self._episode_return = 0.0
        for action in self._episode_actions:
            obs, reward, *_ = self.env.step(action)
            self._episode_return += float(reward)
        return int(obs)

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Greedy actions for one state index or an array of them; ε-greedy (final ε) if not deterministic."""
        states = np.asarray(obs, dtype=np.int64)
        actions = np.asarray(self._q[states].argmax(axis=-1))
        if not deterministic:
            explore = self.rng.random(states.shape) < self.config.exploration_final_eps
            actions = np.where(explore, self.rng.integers(self._q.shape[1], size=states.shape), actions)
        return actions, None

    def _state_dict(self) -> dict[str, Any]:
        seed, rng_state = self._episode_start or (None, None)
        return {
            "q_table": self._q,
            "visits": self._visits,
            "rng": generator_to_json(self.rng),
            "episode_returns": np.asarray(self.episode_returns, dtype=np.float64),
            "episode_lengths": np.asarray(self.episode_lengths, dtype=np.int64),
            "episode_seed": seed,
            "episode_rng": rng_state,
            "episode_actions": np.asarray(self._episode_actions, dtype=np.int64),
        }

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        # Arrays come back from a checkpoint as torch tensors.
        self._q = state["q_table"].numpy()
        self._visits = state["visits"].numpy()
        self.rng = generator_from_json(state["rng"])
        self.episode_returns = state["episode_returns"].tolist()
        self.episode_lengths = state["episode_lengths"].tolist()
        if state["episode_seed"] is not None or state["episode_rng"] is not None:
            self._episode_start = (state["episode_seed"], state["episode_rng"])
        self._episode_actions = state["episode_actions"].tolist()
        self._obs = None  # the next learn() replays the episode in progress
