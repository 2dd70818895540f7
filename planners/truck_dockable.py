"""How much of the truck's start distribution can be docked at all: a lower and an upper bound.

Lower bound (a witness per start): receding-horizon gradient MPC over fold references (the benchmark's
planner, :mod:`planners.fold_tracking` and :class:`TruckDockingCost`) on the true kinematics, several
runs per start from different first plans, every run of every start stepped as one batch (which makes a
few hundred starts affordable). A start counts as dockable only when one of its runs docks, judged by
the env's own ending rules on the true kinematics in float64: the fraction is a certified lower bound
on the dockable fraction of those starts, whatever the planner's flaws (a failure proves nothing).

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
from dataclasses import dataclass

import torch
from torch import Tensor

from envs.truck.batch import episode_status
from envs.truck.kinematics import MAX_STEER, YARD_X, YARD_Y, TruckKinematics
from planners.base import shifted
from planners.fold_tracking import FoldTracking
from planners.gradient_mpc import GradientMPC
from planners.held_action import HeldAction
from planners.rollout import Dynamics
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
    """The search behind the lower bound: receding-horizon gradient MPC over fold references (see
    :mod:`planners.fold_tracking`, ``fold_rate``, within ±``max_fold``), references held ``repeat``
    steps each, ``iterations`` Adam steps of size ``lr`` per plan, for ``restarts`` runs per start that
    differ in their first plan (straight backing, then constant folds spread over the range), each
    replan optimising ``candidates`` plans (the warm start and others, random or constant as
    ``candidate_plans`` says: :class:`GradientMPC`'s restarts) and keeping the cheapest; a pass per
    horizon in ``horizons``, each on the starts no earlier pass docked."""

    horizons: tuple[int, ...] = (20, 30)
    repeat: int = 10
    restarts: int = 8
    iterations: int = 4
    lr: float = 0.1
    fold_rate: float = 1.0
    max_fold: float = 1.1
    max_steps: int = 1000
    candidates: int = 1
    candidate_plans: str = "random"


def dockable(
    starts: Tensor, search: DockableSearch | None = None, kinematics: TruckKinematics | None = None
) -> Tensor:
    """``[B]`` bool: one of the start's runs docked on the true kinematics under the env's rules.

    Every run of every start steps as one batch: each run's plan is its own (the cost is a sum over runs
    and Adam's steps are elementwise, so the runs do not interact), optimised through the kinematics,
    its first reference executed for ``repeat`` steps, then shifted by one as the next warm start.
    """
    search = search or DockableSearch()
    found = torch.zeros(len(starts), dtype=torch.bool)
    for horizon in search.horizons:
        left = (~found).nonzero().squeeze(1)
        found[left] = mpc_runs(starts[left], horizon, search, kinematics).any(dim=1)
    return found


def mpc_runs(
    starts: Tensor,
    horizon: int,
    search: DockableSearch,
    kinematics: TruckKinematics | None = None,
    model: Dynamics | None = None,
) -> Tensor:
    """``[B, restarts]`` bool: which runs of receding-horizon MPC from ``starts`` docked, each planning
    ``horizon`` references through ``model`` (default: the true kinematics; a learned emulator works
    the same) and driven on the true kinematics under the env's rules, all runs in one batch.

    Every run's plan is optimised by the one :class:`GradientMPC` (``optimize_starts``: a row per run,
    the rows independent), its first reference executed for ``repeat`` steps, then shifted by one as
    the next warm start."""
    k = kinematics or TruckKinematics()
    n, r = len(starts), search.restarts
    tracking = FoldTracking(model or k, search.fold_rate, k)
    planner = GradientMPC(
        HeldAction(tracking, search.repeat),
        TruckDockingCost(kinematics=k),
        horizon,
        -search.max_fold,
        search.max_fold,
        iterations=search.iterations,
        lr=search.lr,
        restarts=search.candidates,
        restart_plans=search.candidate_plans,
        dtype=torch.float64,
    )
    spread = torch.linspace(-0.9, 0.9, r - 1, dtype=torch.float64) if r > 1 else torch.zeros(0)
    first = search.max_fold * torch.cat((torch.zeros(1, dtype=torch.float64), spread))  # constant folds
    plans = first.repeat(n)[:, None, None].expand(n * r, horizon, 1).clone()
    state = starts.to(torch.float64).repeat_interleave(r, dim=0)
    done = torch.zeros(n * r, dtype=torch.bool)
    docked = done.clone()
    for _ in range(0, search.max_steps, search.repeat):
        plans = planner.optimize_starts(state, plans)
        with torch.no_grad():
            for _ in range(search.repeat):
                moved = k.step(state, tracking.steering(state, plans[:, 0]))
                state = torch.where(done[:, None], state, moved)
                status = episode_status(k, state)
                docked |= status.done & ~done & status.docked
                done |= status.done
        if bool(done.all()):
            break
        plans = shifted(plans)
    return docked.reshape(n, r)
