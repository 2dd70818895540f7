"""The Dynamics and Cost contracts, and the one rollout every planner unrolls a model with.

Forward model s[t+1] = G(s[t], a[t]) (known kinematics or a learned emulator alike), unrolled over a
horizon of T actions; a cost scores the whole trajectory. Gradient MPC differentiates through this
unrolling (backprop through time, the Kelley-Bryson adjoint method); CEM and MPPI only evaluate it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class Dynamics(Protocol):
    """``step(state [B, S], action [B, A]) -> [B, S]``, differentiable where gradient planners use it."""

    state_dim: int
    action_dim: int

    def step(self, state: Tensor, action: Tensor) -> Tensor: ...


# cost(states [B, T+1, S], actions [B, T, A]) -> [B]
Cost = Callable[[Tensor, Tensor], Tensor]


def rollout(dynamics: Dynamics, state: Tensor, actions: Tensor) -> Tensor:
    """States ``[B, T+1, S]`` (the start first) from ``state [B, S]`` under ``actions [B, T, A]``.

    A dynamics may offer ``rollout(state, actions)`` of its own, the same trajectory computed at once
    (the car's is a few cumulative sums instead of T small steps); it must agree with stepping, which
    its tests check.
    """
    if state.dim() != 2 or actions.dim() != 3 or state.shape[0] != actions.shape[0]:
        raise ValueError(
            f"rollout needs state [B, S] and actions [B, T, A]; got {tuple(state.shape)} and "
            f"{tuple(actions.shape)}"
        )
    whole = getattr(dynamics, "rollout", None)
    if callable(whole):
        return whole(state, actions)
    states = [state]
    for t in range(actions.shape[1]):
        states.append(dynamics.step(states[-1], actions[:, t]))
    return torch.stack(states, dim=1)
