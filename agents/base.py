"""The base class every Stable-Baselines3-shaped agent shares: env, config, counters, save and load."""

from __future__ import annotations

import signal
import threading
from abc import ABC, abstractmethod
from dataclasses import asdict, fields
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from core import env_source
from core.checkpoint import load_checkpoint, save_checkpoint
from core.errors import UserError
from core.metrics import MetricsLogger
from core.validation import check_known_names

AgentT = TypeVar("AgentT", bound="Agent")


class Agent(ABC):
    """``Algo(env, **hyperparams)``, ``.learn``, ``.predict``, ``.save(path)``, ``Algo.load(path, env=None)``.

    A subclass names its checkpoint ``kind`` and its hyperparameter dataclass ``config_class`` (which has a
    ``seed`` field), and implements the four abstract methods.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, env: gym.Env | str, **hyperparams: Any) -> None:
        self.config = make_config(self.config_class, hyperparams)
        self.env = make_env(env)
        self.seed: int = self.config.seed
        self.num_timesteps = 0

    @abstractmethod
    def learn(self, total_steps: int, callback: Any = None, progress_bar: bool = True) -> Agent:
        """Train for ``total_steps`` more env steps; returns self."""

    @abstractmethod
    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Actions for ``obs`` (one observation or a batch) and ``None`` (no recurrent state)."""

    @abstractmethod
    def _state_dict(self) -> dict[str, Any]:
        """Everything learned or counted beyond the config, as tensors, arrays and plain values."""

    @abstractmethod
    def _load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``_state_dict`` returned."""

    def _vector_env(self, n_envs: int, autoreset_mode: AutoresetMode) -> SyncVectorEnv:
        """The agent's env and ``n_envs − 1`` copies made from its spec, stepped together; zeroes the
        running episode counters that ``_count_episodes`` keeps for each copy."""
        if n_envs > 1 and self.env.spec is None:
            raise UserError("n_envs > 1 needs an env made by gym.make (its copies are made from its spec)")
        copies = [lambda: self.env] + [lambda: gym.make(self.env.spec) for _ in range(n_envs - 1)]
        self._episode_return = np.zeros(n_envs)
        self._episode_length = np.zeros(n_envs, dtype=np.int64)
        return SyncVectorEnv(copies, autoreset_mode=autoreset_mode)

    def _count_episodes(
        self, rewards: np.ndarray, done: np.ndarray, logger: MetricsLogger | None, **scalars: float
    ) -> None:
        """Add one step to each copy's running episode; an episode that ended goes to ``episode_returns``
        and ``episode_lengths``, and to the logger with ``scalars``."""
        self._episode_return += rewards
        self._episode_length += 1
        for i in np.flatnonzero(done):
            self.episode_returns.append(float(self._episode_return[i]))
            self.episode_lengths.append(int(self._episode_length[i]))
            if logger is not None:
                logger.log(
                    self.num_timesteps,
                    episode_return=self.episode_returns[-1],
                    episode_length=self.episode_lengths[-1],
                    **scalars,
                )
            self._episode_return[i], self._episode_length[i] = 0.0, 0

    def save(self, path: str | Path) -> None:
        """Write the config, the env id and the learned state to ``path`` (atomically)."""
        spec = self.env.spec
        payload = {
            "kind": self.kind,
            "config": asdict(self.config),
            "env_id": spec.id if spec is not None else None,
            "env_kwargs": dict(spec.kwargs) if spec is not None else {},
            "num_timesteps": self.num_timesteps,
            "state": self._state_dict(),
        }
        save_checkpoint(path, payload)

    @classmethod
    def load(cls: type[AgentT], path: str | Path, env: gym.Env | str | None = None) -> AgentT:
        """Rebuild a saved agent; its env is remade from the saved id and kwargs unless ``env`` is given."""
        payload = load_checkpoint(path, kind=cls.kind)
        if env is None:
            if payload["env_id"] is None:
                raise UserError(
                    f"checkpoint {path} names no env id (its env was not from gym.make); pass env="
                )
            env = make_env(payload["env_id"], **payload["env_kwargs"])
        agent = cls(env, **payload["config"])
        agent.num_timesteps = payload["num_timesteps"]
        agent._load_state_dict(payload["state"])
        return agent


def make_config(config_class: type, hyperparams: dict[str, Any]) -> Any:
    """Build ``config_class(**hyperparams)``; an unknown name is a UserError listing the valid ones, a
    value of the wrong kind a UserError naming the config."""
    check_known_names(hyperparams, (f.name for f in fields(config_class)), config_class.__name__)
    try:
        return config_class(**hyperparams)
    except (TypeError, ValueError) as error:  # e.g. --set net_arch=64 where a list of widths is due
        raise UserError(f"bad hyperparameter value for {config_class.__name__}: {error}") from None


def epsilon_schedule(config: Any, progress: float) -> float:
    """ε-greedy's linear schedule (SB3's): from ``config.exploration_initial_eps`` to
    ``exploration_final_eps`` over the first ``exploration_fraction`` of the run (``progress`` 0 → 1),
    then final."""
    done = min(1.0, progress / config.exploration_fraction)
    return config.exploration_initial_eps + done * (
        config.exploration_final_eps - config.exploration_initial_eps
    )


def make_env(env: gym.Env | str, **kwargs: Any) -> gym.Env:
    """Return ``env`` itself, or ``gym.make(env, **kwargs)`` for an id (an unknown id is a UserError)."""
    if not isinstance(env, str):
        return env
    import envs  # noqa: F401  (registers the rlsuite/ envs with gymnasium)

    return env_source.make_env(env, **kwargs)


class StepBoundaryInterrupts:
    """Hold Ctrl-C back until the training step under way is complete.

    ``learn`` calls :meth:`check` between steps, so the KeyboardInterrupt that the CLI answers with a
    checkpoint never lands halfway through an update, and resuming from that checkpoint is exact.
    Only Python's default Ctrl-C handling is deferred: elsewhere than the main thread (where handlers
    cannot be set), or under a handler of someone else's, Ctrl-C behaves as it did.
    """

    def __enter__(self) -> StepBoundaryInterrupts:
        self.requested = False
        self._installed = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        if self._installed:
            signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def check(self) -> None:
        """Raise the held-back KeyboardInterrupt, if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
