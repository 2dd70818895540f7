"""The truck with its fold stabilised: the planner chooses the fold between cab and trailer, not the steering.

Backing a trailer is unstable: the fold β = θ0 − θ1 obeys β' = (s / L) tan φ − (s / d) sin β, and with
s < 0 the second term pushes any fold further (a jackknife, unless the steering catches it). Planning the
steering itself over hundreds of steps is then ill-conditioned: the gradient of a far state with respect
to an early steering angle grows with the distance backed and drowns the rest. A fixed inner loop removes
the instability: given a fold reference β*, the steering

    tan φ = (L / d) sin β + (L / |s|) · rate · (β − β*)        (φ clamped to ±π/4)

makes each step take ``rate`` of the fold's error away, β' − β* = (1 − rate)(β − β*) (while φ is inside
its bounds), so the fold settles on β* and the trailer turns at the rate (s / d) sin β* the reference
sets. ``rate`` = 1 (the default) removes the whole error in one step where the steering can; the
bound on φ then limits how fast the fold moves. A planner over β* (held for
several steps, see :mod:`planners.held_action`) then faces a stable, well-conditioned model; the env is
driven with the same law, one steering angle per env step from the env's own state.
"""

from __future__ import annotations

import torch
from torch import Tensor

from core.errors import UserError
from envs.truck.batch import episode_status
from envs.truck.kinematics import MAX_STEER, TruckKinematics, wrap_angle
from planners.rollout import Dynamics


class FoldTracking:
    """A :class:`Dynamics` over fold references: ``step(state [B, 4], fold_ref [B, 1])`` steers with
    :meth:`steering` and steps ``dynamics`` (the true kinematics or a learned emulator of them)."""

    def __init__(
        self, dynamics: Dynamics, rate: float = 1.0, kinematics: TruckKinematics | None = None
    ) -> None:
        if not 0 < rate <= 1:
            raise UserError(f"rate must be in (0, 1]; got {rate}")
        self.dynamics, self.rate = dynamics, rate
        self.kinematics = kinematics or TruckKinematics()  # the truck's lengths and speed, for the law
        self.state_dim, self.action_dim = dynamics.state_dim, dynamics.action_dim

    def steering(self, state: Tensor, fold_ref: Tensor) -> Tensor:
        """``[B, 1]`` the steering angle φ that moves the fold towards ``fold_ref [B, 1]``."""
        k = self.kinematics
        fold = wrap_angle(state[:, 2:3] - state[:, 3:4])
        tan_phi = (k.cab_length / k.trailer_length) * torch.sin(fold) + (
            k.cab_length / abs(k.speed)
        ) * self.rate * (fold - fold_ref)
        return torch.atan(tan_phi).clamp(-MAX_STEER, MAX_STEER)

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        return self.dynamics.step(state, self.steering(state, action.to(state.dtype)))


def step_episodes(
    tracking: FoldTracking, state: Tensor, fold_ref: Tensor, done: Tensor, docked: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """One env step of a batch of episodes on the true kinematics (``tracking.kinematics``), steered
    towards ``fold_ref [B, 1]``: a truck whose episode has ended stays where it ended; returns the
    states and the ``done`` / ``docked`` flags ``[B]`` updated by the env's ending rules."""
    k = tracking.kinematics
    moved = k.step(state, tracking.steering(state, fold_ref))
    state = torch.where(done[:, None], state, moved)
    status = episode_status(k, state)
    return state, done | status.done, docked | (status.done & ~done & status.docked)
