"""How much of the truck's start distribution can be docked at all: a lower and an upper bound.

Lower bound (a witness per start): receding-horizon gradient MPC over fold references (the benchmark's
planner, :mod:`planners.fold_tracking` and :class:`TruckDockingCost`) on the true kinematics, several
runs per start from different first plans, every run of every start stepped as one batch (which makes a
few hundred starts affordable). A start counts as dockable only when one of its runs docks, judged by
the env's own ending rules on the true kinematics in float64: the fraction is a certified lower bound
on the dockable fraction of those starts, whatever the planner's flaws (a failure proves nothing).

Upper bound (a proof per start): interval arithmetic on the truck in the coordinates of its trailer,
rear (x, y), trailer angle θ1 and fold β = θ0 − θ1. Whatever the steering, one step turns the trailer by
−(|s| / d) sin β and backs the rear along its own heading by |s| cos β (exactly: the equations at
``_box_step``), while β moves by at most |s| tan(π/4) = 0.1 and stays within ±90° (beyond, the truck has
jackknifed: its episode ended undocked). So a box of (rear, θ1, β) holding the start holds, after each
step, every truck any steering sequence can reach, with the cab front (rear + d u1 + L u0) bounded from
it. A start whose box has its rear or cab front certainly outside a wall other than the dock's at some
step j (or no truck left unjackknifed), while the rear certainly stayed off the dock wall until then,
ends its episode undocked under every steering sequence: it cannot dock. The rear may stand almost still
while the trailer turns (β near ±90°), so only starts with the rear or the cab close to a wall and
heading into it are caught: the bound is loose, but it is a proof (up to float rounding, far below the
1e-9 margin its wall tests keep).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from envs.truck.kinematics import JACKKNIFE_ANGLE, MAX_STEER, YARD_X, YARD_Y, TruckKinematics, wrap_angle
from planners.base import shifted
from planners.fold_tracking import FoldTracking, step_episodes
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


MARGIN = 1e-9  # a wall is certainly crossed only by more than this (float64 rounding of the steps)

# A box of trucks: [N, 8] lower and upper bounds of (rear x, rear y, θ1, fold β = θ0 − θ1), columns
# (rx_lo, rx_hi, ry_lo, ry_hi, θ1_lo, θ1_hi, β_lo, β_hi). In these coordinates one step is, exactly,
#   θ1' = θ1 − δ,  δ = (|s| / d) sin β,   β' = β + δ − (|s| / L) tan φ,
#   rear' = rear + (d (1 − cos δ) − |s| cos β) u1 + d (sin δ − δ) n1,   u1 = (cos θ1, sin θ1), n1 ⟂ u1,
# (the hitch, d ahead of the rear along u1, backs |s| along u0 = cos β u1 + sin β n1): the rear backs
# along its own heading at |s| cos β, less a second-order term, whatever the steering.


def _product(a_low: Tensor, a_high: Tensor, b_low: Tensor, b_high: Tensor) -> tuple[Tensor, Tensor]:
    """The bounds of a · b for a in [a_low, a_high], b in [b_low, b_high]."""
    corners = torch.stack((a_low * b_low, a_low * b_high, a_high * b_low, a_high * b_high))
    return corners.min(dim=0).values, corners.max(dim=0).values


def _box_outside(box: Tensor, k: TruckKinematics) -> tuple[Tensor, Tensor]:
    """``[N]`` bool twice: every truck of the box has its rear at x > 0 (off the dock wall), and every
    truck of it has its rear or cab front outside a wall other than the dock's."""
    rx_low, rx_high, ry_low, ry_high, a1_low, a1_high, fold_low, fold_high = box.unbind(-1)
    d, length = k.trailer_length, k.cab_length
    a0_low, a0_high = a1_low + fold_low, a1_high + fold_high
    # The cab front, rear + d u1 + L u0.
    front_x_low = rx_low + d * _min_cos(a1_low, a1_high) + length * _min_cos(a0_low, a0_high)
    front_x_high = rx_high + d * _max_cos(a1_low, a1_high) + length * _max_cos(a0_low, a0_high)
    front_y_low = ry_low + d * _min_sin(a1_low, a1_high) + length * _min_sin(a0_low, a0_high)
    front_y_high = ry_high + d * _max_sin(a1_low, a1_high) + length * _max_sin(a0_low, a0_high)
    outside = (
        (rx_low > YARD_X[1] + MARGIN)
        | (ry_low > YARD_Y[1] + MARGIN)
        | (ry_high < YARD_Y[0] - MARGIN)
        | (front_x_low > YARD_X[1] + MARGIN)
        | (front_x_high < YARD_X[0] - MARGIN)
        | (front_y_low > YARD_Y[1] + MARGIN)
        | (front_y_high < YARD_Y[0] - MARGIN)
    )
    return rx_low > YARD_X[0] + MARGIN, outside


def _box_step(box: Tensor, tan_low: Tensor | float, tan_high: Tensor | float, k: TruckKinematics) -> Tensor:
    """The box after one step (the equations above) of every truck in it with tan φ in [tan_low,
    tan_high], keeping only the trucks not jackknifed (|β| ≤ π/2: a jackknife ends the episode
    undocked). Empty where β's bounds cross."""
    rx_low, rx_high, ry_low, ry_high, a1_low, a1_high, fold_low, fold_high = box.unbind(-1)
    speed, d = abs(k.speed), k.trailer_length
    turn = speed / d
    delta_low, delta_high = turn * torch.sin(fold_low), turn * torch.sin(fold_high)  # sin rises on ±π/2
    # d (1 − cos δ) rises with |δ|; d (sin δ − δ) falls with δ.
    bend_high = d * (1 - torch.cos(torch.maximum(delta_low.abs(), delta_high.abs())))
    bend_low = torch.where(
        delta_low * delta_high <= 0,
        0.0,
        d * (1 - torch.cos(torch.minimum(delta_low.abs(), delta_high.abs()))),
    )
    along_low = bend_low - speed * _max_cos(fold_low, fold_high)
    along_high = bend_high - speed * _min_cos(fold_low, fold_high)
    side_low, side_high = d * (torch.sin(delta_high) - delta_high), d * (torch.sin(delta_low) - delta_low)
    cos_low, cos_high = _min_cos(a1_low, a1_high), _max_cos(a1_low, a1_high)
    sin_low, sin_high = _min_sin(a1_low, a1_high), _max_sin(a1_low, a1_high)
    # rear' = rear + along · u1 + side · n1, n1 = (−sin θ1, cos θ1).
    ax_low, ax_high = _product(along_low, along_high, cos_low, cos_high)
    sx_low, sx_high = _product(side_low, side_high, -sin_high, -sin_low)
    ay_low, ay_high = _product(along_low, along_high, sin_low, sin_high)
    sy_low, sy_high = _product(side_low, side_high, cos_low, cos_high)
    # β + (|s| / d) sin β rises with β on [−π/2, π/2].
    fold_low = fold_low + delta_low - speed / k.cab_length * tan_high
    fold_high = fold_high + delta_high - speed / k.cab_length * tan_low
    return torch.stack(
        (
            rx_low + ax_low + sx_low,
            rx_high + ax_high + sx_high,
            ry_low + ay_low + sy_low,
            ry_high + ay_high + sy_high,
            a1_low - delta_high,
            a1_high - delta_low,
            fold_low.clamp_min(-JACKKNIFE_ANGLE),
            fold_high.clamp_max(JACKKNIFE_ANGLE),
        ),
        dim=-1,
    )


def _box_empty(box: Tensor) -> Tensor:
    """``[N]`` bool: no truck of the box is left (all jackknifed: the fold's bounds crossed, by more than
    float rounding)."""
    return box[:, 6] > box[:, 7] + MARGIN


def certainly_undockable(
    starts: Tensor, kinematics: TruckKinematics | None = None, steps: int = 100
) -> Tensor:
    """``[B]`` bool: the start ends its episode undocked under every steering sequence — left the yard or
    jackknifed within ``steps`` steps with the rear never at the dock wall before (see the module
    docstring): a proof by interval arithmetic, one box of trucks per start stepped with any steering."""
    k = kinematics or TruckKinematics()
    starts = starts.to(torch.float64)
    rear, theta1 = k.trailer_rear(starts), starts[:, 3]
    fold = wrap_angle(starts[:, 2] - theta1)
    box = torch.stack((rear[:, 0], rear[:, 0], rear[:, 1], rear[:, 1], theta1, theta1, fold, fold), dim=-1)
    off_dock, failed = _box_outside(box, k)
    failed = failed & off_dock
    for _ in range(steps):
        box = _box_step(box, -math.tan(MAX_STEER), math.tan(MAX_STEER), k)
        empty = _box_empty(box)
        clear, outside = _box_outside(box, k)
        off_dock = off_dock & (clear | empty)
        failed |= off_dock & (outside | empty)
    return failed


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
                state, done, docked = step_episodes(tracking, state, plans[:, 0], done, docked)
        if bool(done.all()):
            break
        plans = shifted(plans)
    return docked.reshape(n, r)
