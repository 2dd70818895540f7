"""How much of the truck's start distribution can be docked at all: a lower and an upper bound.

Lower bound (a witness per start): for each start, long-horizon trajectory optimisation on the true
kinematics, many starts and restarts at once as one batch (held fold references tracked by the steering
law of :mod:`planners.fold_tracking`, a plan that covers the whole episode, Adam through the unrolled
model on :class:`TruckDockingCost`). A start counts as dockable only
when one of its plans, replayed open loop step by step under the env's rules in float64, docks: the
fraction is a certified lower bound on the dockable fraction of those starts, whatever the optimiser's
flaws (a failure proves nothing).

Upper bound (a proof per start): per step, |Δθ0| ≤ |s| tan(π/4) = 0.1 and |Δθ1| ≤ |s| / d = 0.025
whatever the steering, so after j steps each angle lies in an interval around its start; the cab's
position moves by s (cos θ0, sin θ0), the trailer rear sits d behind it along θ1, the cab front L ahead
along θ0. Bounding cos and sin over those intervals bounds where the rear and the cab front can be after
j steps. A start whose rear or cab front is certainly outside a wall other than the dock's at some step j,
while the rear certainly stays off the dock wall until then, ends its episode by leaving the yard (or by
an earlier jackknife) under every steering sequence: it cannot dock. Only starts already facing into a
wall within about a truck length of it are caught, so the bound is loose, but it is a proof.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from envs.truck.batch import rollout as truck_rollout
from envs.truck.kinematics import MAX_STEER, YARD_X, YARD_Y, TruckKinematics
from planners.fold_tracking import FoldTracking
from planners.held_action import HeldAction
from planners.rollout import rollout
from planners.truck_cost import TruckDockingCost


def _max_cos(low: Tensor, high: Tensor) -> Tensor:
    """max cos θ over θ ∈ [low, high] (elementwise)."""
    turns = torch.ceil(low / (2 * math.pi)) * 2 * math.pi  # the first multiple of 2π at or above low
    return torch.where(turns <= high, torch.ones_like(low), torch.maximum(low.cos(), high.cos()))


def _min_cos(low: Tensor, high: Tensor) -> Tensor:
    return -_max_cos(low + math.pi, high + math.pi)


def _max_sin(low: Tensor, high: Tensor) -> Tensor:
    return _max_cos(low - math.pi / 2, high - math.pi / 2)


def _min_sin(low: Tensor, high: Tensor) -> Tensor:
    return -_max_sin(low + math.pi, high + math.pi)


def certainly_undockable(
    starts: Tensor, kinematics: TruckKinematics | None = None, steps: int = 60
) -> Tensor:
    """``[B]`` bool: the start leaves the yard (or jackknifes first) under every steering sequence (see the
    module docstring), judged over the first ``steps`` steps."""
    k = kinematics or TruckKinematics()
    speed, d, length = abs(k.speed), k.trailer_length, k.cab_length
    turn0, turn1 = speed * math.tan(MAX_STEER) / length, speed / d
    x, y, theta0, theta1 = starts.unbind(-1)
    # Bounds on the cab's position (x, y) after j steps, before the j-th step's angles are applied.
    x_low, x_high, y_low, y_high = x.clone(), x.clone(), y.clone(), y.clone()
    off_dock = torch.ones_like(x, dtype=torch.bool)  # the rear certainly stayed at x > 0 so far
    fails = torch.zeros_like(off_dock)
    for j in range(steps + 1):
        a0_low, a0_high = theta0 - turn0 * j, theta0 + turn0 * j
        a1_low, a1_high = theta1 - turn1 * j, theta1 + turn1 * j
        rear_x_low = x_low - d * _max_cos(a1_low, a1_high)
        rear_y_low = y_low - d * _max_sin(a1_low, a1_high)
        rear_y_high = y_high - d * _min_sin(a1_low, a1_high)
        front_x_low = x_low + length * _min_cos(a0_low, a0_high)
        front_x_high = x_high + length * _max_cos(a0_low, a0_high)
        front_y_low = y_low + length * _min_sin(a0_low, a0_high)
        front_y_high = y_high + length * _max_sin(a0_low, a0_high)
        off_dock &= rear_x_low > YARD_X[0]
        outside = (
            (rear_x_low > YARD_X[1])
            | (rear_y_low > YARD_Y[1])
            | (rear_y_high < YARD_Y[0])
            | (front_x_low > YARD_X[1])
            | (front_x_high < YARD_X[0])
            | (front_y_low > YARD_Y[1])
            | (front_y_high < YARD_Y[0])
        )
        fails |= off_dock & outside
        # The step: the cab moves by s (cos θ0, sin θ0) with θ0 in its interval (s < 0 backs).
        x_low, x_high = x_low - speed * _max_cos(a0_low, a0_high), x_high - speed * _min_cos(a0_low, a0_high)
        y_low, y_high = y_low - speed * _max_sin(a0_low, a0_high), y_high - speed * _min_sin(a0_low, a0_high)
    return fails


@dataclass
class DockableSearch:
    """The trajectory optimisation behind the lower bound: ``blocks`` fold references (see
    :mod:`planners.fold_tracking`, ``fold_rate``, within ±``max_fold``) held ``repeat`` steps each
    (blocks · repeat should cover the episode), ``restarts`` plans per start (the first from straight
    backing, the others from constant folds spread over the range), ``iterations`` Adam steps of size
    ``lr`` on the tanh-squashed plan, replayed and judged every ``check_every`` steps."""

    blocks: int = 50
    repeat: int = 20
    restarts: int = 8
    iterations: int = 200
    lr: float = 0.1
    check_every: int = 10
    fold_rate: float = 1.0
    max_fold: float = 1.1


def replay_docks(
    starts: Tensor,
    actions: Tensor,
    repeat: int,
    kinematics: TruckKinematics,
    steering: Callable[[Tensor, Tensor], Tensor] | None = None,
    max_steps: int = 1000,
) -> Tensor:
    """``[B]`` bool: ``actions [B, T, 1]``, each held ``repeat`` steps (the last one to the end), dock when
    replayed from ``starts`` under the env's rules; ``steering(state, action)`` turns an action into the
    steering angle at each step (default: the action is the steering angle)."""
    calls = iter(range(max_steps))

    def policy(state: Tensor) -> Tensor:
        action = actions[:, min(next(calls) // repeat, actions.shape[1] - 1)]
        return action if steering is None else steering(state, action)

    return truck_rollout(policy, starts, kinematics, max_steps=max_steps).docked


def dockable(
    starts: Tensor, search: DockableSearch | None = None, kinematics: TruckKinematics | None = None
) -> Tensor:
    """``[B]`` bool: a docking plan was found for the start (and verified by replay); see the module."""
    search = search or DockableSearch()
    k = kinematics or TruckKinematics()
    starts = starts.to(torch.float64)
    n, r = len(starts), search.restarts
    tracking = FoldTracking(k, search.fold_rate, k)
    dynamics, cost = HeldAction(tracking, search.repeat), TruckDockingCost(kinematics=k)
    spread = torch.linspace(-0.9, 0.9, r - 1, dtype=torch.float64) if r > 1 else torch.zeros(0)
    init = torch.cat((torch.zeros(1, dtype=torch.float64), spread))  # tanh⁻¹ of fold / max_fold
    params = init.repeat(n)[:, None, None].expand(n * r, search.blocks, 1).clone().requires_grad_(True)
    repeated = starts.repeat_interleave(r, dim=0)
    optimizer = torch.optim.Adam([params], lr=search.lr)
    found = torch.zeros(n, dtype=torch.bool)
    for iteration in range(search.iterations + 1):
        folds = search.max_fold * torch.tanh(params)
        if iteration % search.check_every == 0 or iteration == search.iterations:
            with torch.no_grad():
                docks = replay_docks(repeated, folds.detach(), search.repeat, k, tracking.steering)
            found |= docks.reshape(n, r).any(dim=1)
            if iteration == search.iterations or bool(found.all()):
                break
        optimizer.zero_grad()
        cost(rollout(dynamics, repeated, folds), folds).sum().backward()
        optimizer.step()
    return found
