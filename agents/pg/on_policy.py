"""What REINFORCE, A2C and PPO share: the config fields, the networks, collecting rollouts (with optional
observation normalisation and reward scaling), the learning-rate schedule, acting, saving.

A subclass sets ``kind`` and ``config_class``, says whether it needs a critic (``_uses_critic``) and
implements ``_update(buffer)``: the loss and one gradient step.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import Tensor, nn

from agents.base import Agent, StepBoundaryInterrupts
from agents.pg.normalization import Normalizer
from agents.pg.policies import make_policy, make_value_function
from agents.pg.rollout import RolloutBuffer
from core.errors import UserError
from core.progress import progress_bar as open_progress_bar
from core.threads import torch_threads
from core.validation import check_bool, check_non_negative_int, check_positive_int, check_range, check_seed
from perception.activation import check_activation

if TYPE_CHECKING:
    from core.metrics import MetricsLogger


@dataclass
class OnPolicyConfig:
    """Hyperparameters every policy-gradient agent has. Steps are env steps, summed over the env copies."""

    learning_rate: float = 7e-4
    """The optimiser's step size."""
    n_steps: int = 5
    """Steps per env copy in each rollout; one rollout feeds one update."""
    n_envs: int = 8
    """Env copies stepped together (Gymnasium's SyncVectorEnv)."""
    gamma: float = 0.99
    """Discount factor γ."""
    max_grad_norm: float = 0.5
    """The gradient's global norm is clipped to this."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden widths of the policy's MLP and of the (separate) value MLP."""
    activation: str = "tanh"
    """Hidden activation of both MLPs."""
    squash: bool = True
    """Box actions: tanh-squash the Gaussian into the bounds (else clip its samples to them)."""
    log_std_init: float = 0.0
    """Initial log σ of the Gaussian policy."""
    linear_schedule: bool = False
    """Let the learning rate (and PPO's clip ranges) fall linearly to 0 over the run's steps
    (``num_timesteps`` over the horizon of the learn() call; a resumed run goes on where it stopped), as
    RL-Zoo's ``lin_`` values do."""
    normalize_obs: bool = False
    """Feed the networks (o − μ)/σ with running statistics of the rollouts' observations (frozen in
    ``predict``; saved with the agent)."""
    normalize_reward: bool = False
    """Train on rewards divided by the running std of the discounted return (SB3's ``VecNormalize``)."""
    clip_normalized: float = 10.0
    """Normalised observations and scaled rewards are clipped to ±this."""
    torch_threads: int = 1
    """Torch's intra-op threads during learn() (restored afterwards); 0 leaves torch's setting."""
    seed: int = 0
    """Seeds the network init, action sampling and the envs' first reset."""

    def __post_init__(self) -> None:
        self.net_arch = tuple(check_positive_int(width, "net_arch width") for width in self.net_arch)
        check_positive_int(self.n_steps, "n_steps")
        check_positive_int(self.n_envs, "n_envs")
        check_range("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        check_range("gamma", self.gamma, 0.0, 1.0)
        check_range("max_grad_norm", self.max_grad_norm, 0.0, float("inf"), low_open=True)
        check_range("log_std_init", self.log_std_init, -20.0, 2.0)
        check_range("clip_normalized", self.clip_normalized, 0.0, float("inf"), low_open=True)
        check_activation(self.activation)
        for name in ("squash", "linear_schedule", "normalize_obs", "normalize_reward"):
            check_bool(getattr(self, name), name)
        check_non_negative_int(self.torch_threads, "torch_threads")
        check_seed(self.seed)


class OnPolicyAgent(Agent):
    """Collects ``n_steps × n_envs`` steps with the current policy, then calls ``_update`` on them."""

    config: OnPolicyConfig

    def __init__(self, env: gym.Env | str, **hyperparams: Any) -> None:
        super().__init__(env, **hyperparams)
        c = self.config
        obs_space, action_space = self.env.observation_space, self.env.action_space
        with torch.random.fork_rng(devices=[]):  # seed the init without touching torch's global generator
            torch.manual_seed(c.seed)
            self.policy = make_policy(
                obs_space, action_space, c.net_arch, c.activation, c.squash, c.log_std_init
            )
            self.value = (
                make_value_function(obs_space, c.net_arch, c.activation) if self._uses_critic() else None
            )
        self.optimizer = self._make_optimizer([p for net in self._nets() for p in net.parameters()])
        self.generator = torch.Generator().manual_seed(c.seed)
        self.normalizer = Normalizer(
            tuple(obs_space.shape), c.n_envs, c.normalize_obs, c.normalize_reward, c.gamma, c.clip_normalized
        )
        self.progress_remaining = 1.0  # 1 → 0 over the run, for the linear schedule
        self._obs_ndim = len(obs_space.shape)
        self._action_shape = tuple(action_space.shape) if isinstance(action_space, gym.spaces.Box) else ()
        self._action_dtype = np.float32 if self._action_shape else np.int64
        self._obs: np.ndarray | None = None  # the envs are made by the first learn()
        self.n_updates = 0
        self.episode_returns: list[float] = []
        self.episode_lengths: list[int] = []

    @abstractmethod
    def _uses_critic(self) -> bool:
        """Whether the agent learns a value function V(s)."""

    @abstractmethod
    def _make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimiser over the policy's and the critic's parameters."""

    @abstractmethod
    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        """One gradient step on a finished rollout; returns the losses to log."""

    def _nets(self) -> list[nn.Module]:
        return [self.policy] if self.value is None else [self.policy, self.value]

    # --- collecting experience ------------------------------------------------------------------------

    def learn(
        self,
        total_steps: int,
        callback: Callable[[OnPolicyAgent], bool | None] | None = None,
        progress_bar: bool = True,
        logger: MetricsLogger | None = None,
    ) -> OnPolicyAgent:
        """Run rollouts and updates until ``total_steps`` more env steps (rounded up to whole rollouts)."""
        if total_steps < 0:
            raise UserError(f"total_steps must be non-negative, got {total_steps}")
        horizon = self.num_timesteps + total_steps  # a resumed run's: the steps it was started for
        if self._obs is None:
            self._start()
        bar = open_progress_bar(total_steps, desc=self.kind, enabled=None if progress_bar else False)
        with bar, StepBoundaryInterrupts() as interrupts, torch_threads(self.config.torch_threads):
            while self.num_timesteps < horizon:
                self.collect(logger)
                # Measured over the whole run, as DQN's: a resumed run's schedule goes on where it stopped.
                self._set_progress(1.0 - self.num_timesteps / max(horizon, 1))
                losses = self._update(self.buffer)
                self.n_updates += 1
                if logger is not None:
                    logger.log(self.num_timesteps, **losses, n_updates=self.n_updates)
                bar.update(self.buffer.n_steps * self.buffer.n_envs)
                if callback is not None and callback(self) is False:
                    break
                interrupts.check()
        return self

    def _set_progress(self, remaining: float) -> None:
        """Record how much of the run is left and, on the linear schedule, scale the lr by it."""
        self.progress_remaining = max(remaining, 0.0)
        if self.config.linear_schedule:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.learning_rate * self.progress_remaining

    def _start(self) -> None:
        """Make the env copies (SAME_STEP autoreset, see ``rollout``) and the buffer; reset them seeded."""
        c = self.config
        self._envs = self._vector_env(c.n_envs, AutoresetMode.SAME_STEP)
        obs_shape = tuple(self.env.observation_space.shape)
        self.buffer = RolloutBuffer(c.n_steps, c.n_envs, obs_shape, self._action_shape, self._action_dtype)
        # A loaded agent starts from other seeds than the first run did, so it does not replay its episodes.
        first = c.seed + self.num_timesteps
        self._obs, _ = self._envs.reset(seed=[first + i for i in range(c.n_envs)])

    def collect(self, logger: MetricsLogger | None = None) -> RolloutBuffer:
        """Fill the buffer with ``n_steps`` vector steps of the current (stochastic) policy and finish it."""
        if self._obs is None:
            self._start()
        buffer = self.buffer
        buffer.reset()
        norm = self.normalizer
        for _ in range(buffer.n_steps):
            obs = norm.observations(self._obs, update=True)
            with torch.no_grad():
                actions, log_probs = self.policy.act(torch.from_numpy(obs), generator=self.generator)
                env_actions = self.policy.env_action(actions).numpy()
            next_obs, rewards, terminated, truncated, info = self._envs.step(env_actions)
            final_values = np.zeros(buffer.n_envs, dtype=np.float32)
            if truncated.any():
                final_obs = np.stack(info["final_obs"][truncated])
                final_values[truncated] = self._values(norm.observations(final_obs))
            buffer.add(
                obs,
                actions.numpy(),
                norm.rewards(rewards, terminated | truncated),
                terminated,
                truncated,
                log_probs.numpy(),
                self._values(obs),
                final_values,
            )
            self.num_timesteps += buffer.n_envs
            self._count_episodes(rewards, terminated | truncated, logger)  # the env's own rewards
            self._obs = next_obs
        buffer.finish(self._values(norm.observations(self._obs)))
        return buffer

    def _values(self, obs: np.ndarray) -> np.ndarray:
        """V(s) for a batch of (normalised) observations, zeros without a critic."""
        if self.value is None:
            return np.zeros(len(obs), dtype=np.float32)
        with torch.no_grad():
            return self.value(torch.as_tensor(obs, dtype=torch.float32)).squeeze(-1).numpy()

    # --- learning -------------------------------------------------------------------------------------

    def _step(self, loss: Tensor) -> None:
        """One optimiser step on ``loss`` with the gradient's global norm clipped to ``max_grad_norm``."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        self.optimizer.step()

    # --- acting and saving ----------------------------------------------------------------------------

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Env actions for one observation or a batch: the policy's mode if deterministic, else a sample."""
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == self._obs_ndim
        batch = torch.from_numpy(self.normalizer.observations(obs[None] if single else obs))
        with torch.no_grad():
            actions, _ = self.policy.act(batch, deterministic, generator=self.generator)
            actions = self.policy.env_action(actions).numpy()
        return (actions[0] if single else actions), None

    def _state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "value": None if self.value is None else self.value.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "normalizer": self.normalizer.state_dict(),
            "n_updates": self.n_updates,
            "episode_returns": np.asarray(self.episode_returns, dtype=np.float64),
            "episode_lengths": np.asarray(self.episode_lengths, dtype=np.int64),
        }

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        if self.value is not None:
            self.value.load_state_dict(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.normalizer.load_state_dict(state["normalizer"])
        self.n_updates = state["n_updates"]
        self.episode_returns = state["episode_returns"].tolist()
        self.episode_lengths = state["episode_lengths"].tolist()


def to_tensors(buffer: RolloutBuffer, *arrays: np.ndarray) -> tuple[Tensor, ...]:
    """The rollout's observations and actions, then ``arrays``, flattened over (step, env) into tensors."""
    n = buffer.n_steps * buffer.n_envs
    flat = (buffer.obs, buffer.actions, *arrays)
    return tuple(torch.from_numpy(np.ascontiguousarray(a.reshape(n, *a.shape[2:]))) for a in flat)
