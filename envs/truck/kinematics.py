"""Truck-and-trailer kinematics as a batched, differentiable torch function (the Dynamics contract).

State ``[B, 4]`` = (x, y, θ0, θ1): the cab's rear axle, where the trailer is hitched, the cab angle
and the trailer angle. Angles are headings measured counter-clockwise from +x, pointing from the
trailer rear towards the cab (the way the truck faces when driving forward). With speed s < 0 the
truck backs: θ0 = θ1 = 0 faces away from the dock wall x = 0 and backs straight at it, so
"perpendicular to the wall" is θ1 ≡ 0 (mod 2π). Angles are not wrapped by ``step`` (wrapping is a
jump); use :func:`wrap_angle` where a comparison needs it.

One step (dt = 1), the equations of the env and of every planner that differentiates through it:
  x'  = x + s cos θ0,   y' = y + s sin θ0,
  θ0' = θ0 + (s / L) tan φ,   θ1' = θ1 + (s / d) sin(θ0 − θ1),
with φ, the steering angle (the only action), clamped to [−π/4, π/4].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from envs.angles import wrap_angle

MAX_STEER = math.pi / 4
JACKKNIFE_ANGLE = math.pi / 2
# The yard: the dock wall is x = 0.
YARD_X = (0.0, 40.0)
YARD_Y = (-10.0, 10.0)


@dataclass(frozen=True)
class TruckKinematics:
    """The truck as a :class:`Dynamics`: ``step(state [B, 4], action [B, 1]) -> [B, 4]``."""

    speed: float = -0.1  # signed, per step; negative backs the truck towards the wall
    cab_length: float = 1.0  # L
    trailer_length: float = 4.0  # d
    state_dim: ClassVar[int] = 4
    action_dim: ClassVar[int] = 1

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        """One step of the equations above; φ is clamped (its gradient is exact inside the bounds)."""
        x, y, theta0, theta1 = state.unbind(-1)
        phi = action[..., 0].clamp(-MAX_STEER, MAX_STEER)
        s = self.speed
        return torch.stack(
            (
                x + s * torch.cos(theta0),
                y + s * torch.sin(theta0),
                theta0 + (s / self.cab_length) * torch.tan(phi),
                theta1 + (s / self.trailer_length) * torch.sin(theta0 - theta1),
            ),
            dim=-1,
        )

    def trailer_rear(self, state: Tensor) -> Tensor:
        """``[B, 2]`` rear of the trailer, (x − d cos θ1, y − d sin θ1)."""
        x, y, _, theta1 = state.unbind(-1)
        d = self.trailer_length
        return torch.stack((x - d * torch.cos(theta1), y - d * torch.sin(theta1)), dim=-1)

    def cab_front(self, state: Tensor) -> Tensor:
        """``[B, 2]`` front of the cab, (x + L cos θ0, y + L sin θ0)."""
        x, y, theta0, _ = state.unbind(-1)
        L = self.cab_length
        return torch.stack((x + L * torch.cos(theta0), y + L * torch.sin(theta0)), dim=-1)

    def is_jackknifed(self, state: Tensor) -> Tensor:
        """``[B]`` bool: |wrap(θ0 − θ1)| > 90°."""
        return wrap_angle(state[..., 2] - state[..., 3]).abs() > JACKKNIFE_ANGLE

    def in_yard(self, state: Tensor) -> Tensor:
        """``[B]`` bool: the cab front and the trailer rear both inside [0, 40] × [−10, 10]."""
        points = torch.stack((self.cab_front(state), self.trailer_rear(state)), dim=-2)
        inside_x = (points[..., 0] >= YARD_X[0]) & (points[..., 0] <= YARD_X[1])
        inside_y = (points[..., 1] >= YARD_Y[0]) & (points[..., 1] <= YARD_Y[1])
        return (inside_x & inside_y).all(dim=-1)
