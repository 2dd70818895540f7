"""The env's starts and endings for many trucks at once, as torch tensors (for training and fast evaluation).

``sample_starts`` draws from the env's start distribution; ``episode_status`` applies the env's ending rules
(:func:`envs.truck.outcome.judge`) to a batch, and ``rollout`` runs a batch of trucks under a policy until
each one's episode ends, exactly as the env would end it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from envs.truck.kinematics import YARD_X, YARD_Y, TruckKinematics, wrap_angle
from envs.truck.outcome import DOCK_ANGLE_TOLERANCE, DOCK_TOLERANCE

START_X = (10.0, 40.0)
START_TRAILER_OFFSET = math.pi / 4  # θ1 − θ0 is drawn from [−π/4, π/4)


def sample_starts(
    n: int,
    generator: torch.Generator,
    x_range: tuple[float, float] = START_X,
    y_range: tuple[float, float] = YARD_Y,
    heading_spread: float = math.pi,
    trailer_offset: float = START_TRAILER_OFFSET,
    kinematics: TruckKinematics | None = None,
) -> Tensor:
    """``[n, 4]`` float64 valid starts; the defaults are the env's distribution (θ0 ~ U[0, 2π),
    θ1 − θ0 ~ U[−π/4, π/4), x ~ U[10, 40], y ~ U[−10, 10]), redrawn until inside the yard.

    Narrower ranges give the curriculum's easier lessons: ``heading_spread`` draws θ1 from
    U[−spread, spread) around the straight-back heading 0 (π covers every heading).
    """
    kinematics = kinematics or TruckKinematics()
    starts = torch.empty(0, 4, dtype=torch.float64)
    while len(starts) < n:
        m = 2 * (n - len(starts)) + 8

        def uniform(low: float, high: float, m: int = m) -> Tensor:
            return low + (high - low) * torch.rand(m, generator=generator, dtype=torch.float64)

        if heading_spread >= math.pi:
            theta0 = uniform(0.0, 2 * math.pi)
            theta1 = theta0 + uniform(-trailer_offset, trailer_offset)
        else:
            theta1 = uniform(-heading_spread, heading_spread)
            theta0 = theta1 + uniform(-trailer_offset, trailer_offset)
        candidates = torch.stack((uniform(*x_range), uniform(*y_range), theta0, theta1), dim=-1)
        valid = kinematics.in_yard(candidates) & ~kinematics.is_jackknifed(candidates)
        starts = torch.cat((starts, candidates[valid]))
    return starts[:n]


@dataclass
class Status:
    """``[B]`` bool tensors: the episode ended at this state, and how."""

    done: Tensor
    docked: Tensor
    jackknife: Tensor
    at_wall: Tensor  # the trailer rear reached x ≤ 0 (docked or missed)


def episode_status(kinematics: TruckKinematics, state: Tensor, target_y: Tensor | float = 0.0) -> Status:
    """The env's ending rules on a batch ``[B, 4]`` (see :mod:`envs.truck.outcome`; same order of checks)."""
    rear = kinematics.trailer_rear(state)
    front = kinematics.cab_front(state)
    jackknife = kinematics.is_jackknifed(state)
    at_wall = ~jackknife & (rear[:, 0] <= YARD_X[0])
    cab_inside = (
        (front[:, 0] >= YARD_X[0])
        & (front[:, 0] <= YARD_X[1])
        & (front[:, 1] >= YARD_Y[0])
        & (front[:, 1] <= YARD_Y[1])
    )
    on_target = ((rear[:, 1] - target_y).abs() <= DOCK_TOLERANCE) & (
        wrap_angle(state[:, 3]).abs() <= DOCK_ANGLE_TOLERANCE
    )
    left_yard = ~jackknife & ~at_wall & ~kinematics.in_yard(state)
    return Status(
        done=jackknife | at_wall | left_yard,
        docked=at_wall & on_target & cab_inside,
        jackknife=jackknife,
        at_wall=at_wall,
    )


@dataclass
class Rollout:
    """The end of a batched run: final states, how each episode ended, and its length."""

    final_state: Tensor  # [B, 4]
    docked: Tensor  # [B] bool
    jackknife: Tensor  # [B] bool
    steps: Tensor  # [B] long
    path: Tensor | None  # [T+1, B, 4] when recorded

    @property
    def success_rate(self) -> float:
        return float(self.docked.double().mean())


@torch.no_grad()
def rollout(
    policy: Callable[[Tensor], Tensor],
    starts: Tensor,
    kinematics: TruckKinematics | None = None,
    target_y: Tensor | float = 0.0,
    max_steps: int = 1000,
    record: bool = False,
) -> Rollout:
    """Run every start under ``policy(state [B, 4]) -> steering [B, 1]`` on the true kinematics until its
    episode ends (the env's rules) or ``max_steps`` pass; finished trucks stay where they ended."""
    kinematics = kinematics or TruckKinematics()
    state = starts.clone()
    n = len(state)
    done = torch.zeros(n, dtype=torch.bool)
    docked, jackknife = done.clone(), done.clone()
    steps = torch.zeros(n, dtype=torch.long)
    path = [state.clone()] if record else None
    for _ in range(max_steps):
        action = policy(state).to(state.dtype)
        moved = kinematics.step(state, action)
        state = torch.where(done[:, None], state, moved)
        status = episode_status(kinematics, state, target_y)
        new = status.done & ~done
        docked |= new & status.docked
        jackknife |= new & status.jackknife
        steps += (~done).long()
        done |= status.done
        if record:
            path.append(state.clone())
        if bool(done.all()):
            break
    return Rollout(
        final_state=state,
        docked=docked,
        jackknife=jackknife,
        steps=steps,
        path=torch.stack(path) if record else None,
    )
