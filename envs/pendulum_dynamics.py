"""Gymnasium's Pendulum-v1 as a batched torch Dynamics and Cost, for planning on the exact model.

State ``[B, 2]`` = (θ, θ̇) (θ = 0 upright; the env's ``unwrapped.state``), action ``[B, 1]`` = torque u.
The same step as ``gymnasium.envs.classic_control.PendulumEnv.step`` (semi-implicit Euler, dt = 0.05):
  u ← clip(u, −2, 2),  θ̇' = clip(θ̇ + (3g / 2l · sin θ + 3 / (m l²) · u) dt, −8, 8),  θ' = θ + θ̇' dt,
and its reward's negative as the cost, charged on the state before each step:
  c = normalize(θ)² + 0.1 θ̇² + 0.001 u².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from envs.angles import wrap_angle


@dataclass(frozen=True)
class PendulumDynamics:
    """Pendulum-v1's physics as a :class:`Dynamics` (defaults are the env's)."""

    g: float = 10.0
    m: float = 1.0
    length: float = 1.0
    dt: float = 0.05
    max_speed: float = 8.0
    max_torque: float = 2.0
    state_dim: ClassVar[int] = 2
    action_dim: ClassVar[int] = 1

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        theta, speed = state[..., 0], state[..., 1]
        u = action[..., 0].clamp(-self.max_torque, self.max_torque)
        accel = 3 * self.g / (2 * self.length) * torch.sin(theta) + 3.0 / (self.m * self.length**2) * u
        speed = (speed + accel * self.dt).clamp(-self.max_speed, self.max_speed)
        return torch.stack((theta + speed * self.dt, speed), dim=-1)


def pendulum_cost(states: Tensor, actions: Tensor, max_torque: float = 2.0) -> Tensor:
    """``[B]`` Σ_t of the env's per-step cost (minus its reward) over a planned trajectory."""
    theta, speed = states[:, :-1, 0], states[:, :-1, 1]
    u = actions[..., 0].clamp(-max_torque, max_torque)
    return (wrap_angle(theta).pow(2) + 0.1 * speed.pow(2) + 0.001 * u.pow(2)).sum(-1)
