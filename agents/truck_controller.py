"""The truck controller learned by backpropagation through time, as a Stable-Baselines3-shaped agent.

``TruckController(env, dynamics=None, **hyperparams).learn(n)`` runs ``n`` training iterations of
:func:`planners.truck_controller.train_controller` (one batch of episodes unfolded, one gradient step
each; the lessons advance as they are learned), through the true kinematics or the ``dynamics`` given
(a learned emulator, say). ``predict`` maps env observations to steering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from agents.base import Agent
from core.errors import UserError
from core.metrics import MetricsLogger
from core.progress import progress_bar as open_progress_bar
from core.threads import torch_threads
from core.validation import check_non_negative_int, check_positive_int, check_range, check_seed
from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import TruckKinematics
from perception.activation import check_activation
from planners.rollout import Dynamics
from planners.truck_controller import (
    BPTTConfig,
    ControllerConfig,
    TrainLog,
    TruckControllerNet,
    train_controller,
)


@dataclass
class TruckControllerConfig:
    """Hyperparameters of :class:`TruckController` (see :class:`planners.truck_controller.BPTTConfig`).

    ``target_range`` is where training draws dock targets for a target-conditioned env (ignored
    otherwise: the env's own target is used).
    """

    hidden: tuple[int, ...] = ControllerConfig.hidden
    activation: str = ControllerConfig.activation
    output: str = ControllerConfig.output
    max_fold: float = ControllerConfig.max_fold
    fold_rate: float = ControllerConfig.fold_rate
    batch_size: int = BPTTConfig.batch_size
    lr: float = BPTTConfig.lr
    grad_clip: float = BPTTConfig.grad_clip
    angle_weight: float = BPTTConfig.angle_weight
    jackknife_weight: float = BPTTConfig.jackknife_weight
    gradient_decay: float = BPTTConfig.gradient_decay
    yard_weight: float = BPTTConfig.yard_weight
    strain_weight: float = BPTTConfig.strain_weight
    lesson_iterations: int = BPTTConfig.lesson_iterations
    advance_at: float = BPTTConfig.advance_at
    final_lr_fraction: float = BPTTConfig.final_lr_fraction
    validate_every: int = BPTTConfig.validate_every
    validation_size: int = BPTTConfig.validation_size
    target_range: tuple[float, float] = (-5.0, 5.0)
    torch_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, list | tuple):
            raise UserError(f"hidden must be a list of layer widths like [64, 64], got {self.hidden!r}")
        self.hidden = tuple(check_positive_int(width, "hidden width") for width in self.hidden)
        check_activation(self.activation)
        for name in ("batch_size", "lesson_iterations", "validation_size"):
            check_positive_int(getattr(self, name), name)
        check_non_negative_int(self.validate_every, "validate_every")
        check_non_negative_int(self.torch_threads, "torch_threads")
        check_range("lr", self.lr, 0.0, 1.0, low_open=True)
        check_range("gradient_decay", self.gradient_decay, 0.0, 1.0, low_open=True)
        for name in ("advance_at", "final_lr_fraction"):
            check_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("grad_clip", "fold_rate"):
            check_range(name, getattr(self, name), 0.0, float("inf"), low_open=True)
        for name in ("angle_weight", "jackknife_weight", "yard_weight", "strain_weight"):
            check_range(name, getattr(self, name), 0.0, float("inf"))
        check_seed(self.seed)
        self.target_range = tuple(float(t) for t in self.target_range)  # type: ignore[assignment]
        if len(self.target_range) != 2 or self.target_range[0] > self.target_range[1]:
            raise UserError(f"target_range must be (low, high) with low <= high; got {self.target_range}")


class TruckController(Agent):
    """A controller MLP trained by BPTT with curriculum lessons; acts on TruckBackerUpper-v0."""

    kind = "truck-controller"
    config_class: ClassVar[type] = TruckControllerConfig

    def __init__(self, env: gym.Env | str, dynamics: Dynamics | None = None, **hyperparams: Any) -> None:
        super().__init__(env, **hyperparams)
        truck = self.env.unwrapped
        if not isinstance(truck, TruckBackerUpperEnv):
            raise UserError(f"TruckController drives rlsuite/TruckBackerUpper-v0, not {type(truck).__name__}")
        self.truck = truck
        self.kinematics = TruckKinematics()
        self.dynamics = dynamics
        cfg = self.config
        with torch.random.fork_rng(devices=[]):  # seed the init without touching torch's global generator
            torch.manual_seed(self.seed)
            self.net = TruckControllerNet(
                ControllerConfig(
                    cfg.hidden,
                    cfg.activation,
                    target_conditioned=truck.target_conditioned,
                    output=cfg.output,
                    max_fold=cfg.max_fold,
                    fold_rate=cfg.fold_rate,
                ),
                self.kinematics,
            )
        self.log = TrainLog()
        self.episode_returns: list[float] = []  # no env episodes: training unfolds the dynamics model

    def _bptt_config(self) -> BPTTConfig:
        cfg = self.config
        target = cfg.target_range if self.truck.target_conditioned else (self.truck.target_y,) * 2
        return BPTTConfig(
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            grad_clip=cfg.grad_clip,
            angle_weight=cfg.angle_weight,
            jackknife_weight=cfg.jackknife_weight,
            gradient_decay=cfg.gradient_decay,
            yard_weight=cfg.yard_weight,
            strain_weight=cfg.strain_weight,
            lesson_iterations=cfg.lesson_iterations,
            advance_at=cfg.advance_at,
            final_lr_fraction=cfg.final_lr_fraction,
            validate_every=cfg.validate_every,
            validation_size=cfg.validation_size,
            target_range=target,
            seed=self.seed + self.num_timesteps,  # a second learn() draws fresh starts
        )

    def learn(
        self,
        total_steps: int,
        callback: Callable[[TruckController], bool | None] | None = None,
        progress_bar: bool = True,
        logger: MetricsLogger | None = None,
    ) -> TruckController:
        """``total_steps`` more training iterations (one batch of unfolded episodes and one gradient step
        each), going on from the lesson reached; ``logger`` gets each iteration's lesson, mean final error
        and batch success; ``callback(self)`` after each, training stops (keeping the best validated
        weights) when it returns False."""
        check_non_negative_int(total_steps, "total_steps")
        if total_steps == 0:  # e.g. a finished run resumed: nothing left to train
            return self
        dynamics = self.dynamics.step if self.dynamics is not None else self.kinematics.step
        bar = open_progress_bar(total_steps, desc=self.kind, enabled=None if progress_bar else False)

        def on_iteration(iteration: int, log: TrainLog) -> bool:
            self.num_timesteps += 1
            bar.update(1)
            if logger is not None:
                logger.log(
                    self.num_timesteps, lesson=log.lesson[-1], error=log.error[-1], success=log.success[-1]
                )
            return callback is None or callback(self) is not False

        with bar, torch_threads(self.config.torch_threads):
            train_controller(self.net, dynamics, self._bptt_config(), total_steps, self.log, on_iteration)
        return self

    def states_of(self, obs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Kinematic states ``[B, 4]`` and dock targets ``[B]`` from env observations (either layout)."""
        obs = np.asarray(obs, dtype=np.float64)
        obs = obs.reshape(-1, obs.shape[-1])
        if obs.shape[1] - int(self.truck.target_conditioned) == 8:  # (sin, cos) angles
            theta0, theta1 = np.arctan2(obs[:, 2], obs[:, 3]), np.arctan2(obs[:, 6], obs[:, 7])
            x, y = obs[:, 0], obs[:, 1]
        else:
            x, y, theta0, theta1 = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 5]
        target = obs[:, -1] if self.truck.target_conditioned else np.full(len(obs), self.truck.target_y)
        state = torch.as_tensor(np.stack((x, y, theta0, theta1), axis=-1))
        return state, torch.as_tensor(target)

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[np.ndarray, None]:
        single = np.ndim(obs) == 1
        state, target = self.states_of(obs)
        with torch.no_grad():
            steering = self.net(state, target).numpy().astype(np.float32)
        return (steering[0] if single else steering), None

    def _state_dict(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "lessons": list(self.log.lesson),
            "success": list(self.log.success),
        }

    def _load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.log.lesson, self.log.success = list(state["lessons"]), list(state["success"])
