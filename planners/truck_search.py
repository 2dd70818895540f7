"""A global search for a truck docking: a lattice over held fold references, with a line-tracking finish.

Receding-horizon MPC commits to a plan it cannot see the end of; near a side wall or the far wall, with
the trailer pointing into it, the way out can need a manoeuvre that looks bad for a long while (turn
away from the dock, back along the wall, come round). This search looks at every such manoeuvre, up
to a resolution: from the start, each of ``folds`` fold references (see :mod:`planners.fold_tracking`)
is held for ``repeat`` steps on the true kinematics, the same from each truck that survives (the
env's own ending rules), layer after layer, until the step limit. Trucks that land in a cell of
(rear x, rear y, θ1, fold) already reached, at this layer or an earlier one, are dropped (an earlier
arrival has at least as much time left: hybrid A*'s pruning), and a layer keeps at most ``max_nodes``
trucks, the nearest to the dock by ``‖rear − dock‖ + ANGLE_WEIGHT · |wrap θ1|``.

A lattice of held references rarely meets the dock square to within 10°, so from the ``finish_nodes``
trucks of each layer nearest the dock a closed-loop finish is also tried: the trailer heading is
steered (through the fold) towards θ1* = clamp(gain_y · y_rear, ±max_heading), which backs the rear
onto the line y = 0 and square to the wall as it gets there.

What is found is a per-step sequence of fold references; :func:`replay_docks` drives it from the start
on the true kinematics in float64 under the env's own rules, and only a docking there counts. The
search is a witness finder: a start it fails on proves nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from core.errors import UserError
from envs.truck.batch import episode_status
from envs.truck.env import MAX_STEPS
from envs.truck.kinematics import YARD_X, YARD_Y, TruckKinematics, wrap_angle
from envs.truck.outcome import ANGLE_WEIGHT
from planners.fold_tracking import FoldTracking, step_episodes


@dataclass
class LatticeSearch:
    """The search's settings (see the module docstring). ``cell`` is the pruning cell's size in rear x,
    rear y, θ1 and fold (units, units, radians, radians)."""

    # 0.1 rad apart to ±1.5, and ±1.54, ±1.565 (88°, 89.7°): near a jackknife the rear barely moves
    # while the trailer turns, a pivot that gets trucks off a wall (8 of the 18 starts the search adds
    # to the MPC's, of the first 300 evaluation starts, need it).
    folds: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(-15, 16)) + (1.54, -1.54, 1.565, -1.565)
    repeat: int = 10
    cell: tuple[float, float, float, float] = (0.5, 0.5, math.radians(6.0), 0.1)
    max_nodes: int = 20_000
    finish_nodes: int = 200
    gain_y: float = 0.3
    max_heading: float = 1.2
    gain_heading: float = 2.0
    max_finish_fold: float = 1.2
    fold_rate: float = 1.0
    max_steps: int = MAX_STEPS

    def __post_init__(self) -> None:
        if not self.folds or self.repeat < 1 or self.max_nodes < 1 or self.finish_nodes < 0:
            raise UserError(f"a lattice search needs folds, repeat >= 1 and max_nodes >= 1; got {self}")


def finish_fold(state: Tensor, search: LatticeSearch, kinematics: TruckKinematics) -> Tensor:
    """``[B]`` the finish's fold reference: turn the trailer towards θ1* = clamp(gain_y · y_rear).

    Backing, the rear moves along −(cos θ1, sin θ1), so θ1 > 0 takes a rear above the line down to it;
    the trailer turns by (s / d) sin(fold) a step (s < 0), so a fold of the sign of θ1 − θ1* closes the
    gap."""
    rear_y = kinematics.trailer_rear(state)[:, 1]
    heading = (search.gain_y * rear_y).clamp(-search.max_heading, search.max_heading)
    error = wrap_angle(state[:, 3] - heading)
    return (search.gain_heading * error).clamp(-search.max_finish_fold, search.max_finish_fold)


def _cells(state: Tensor, search: LatticeSearch, kinematics: TruckKinematics) -> Tensor:
    """``[B]`` int64: the pruning cell of each truck (rear x, rear y, wrapped θ1, fold)."""
    rear = kinematics.trailer_rear(state)
    fold = wrap_angle(state[:, 2] - state[:, 3])
    sizes = search.cell
    ix = torch.floor((rear[:, 0] - YARD_X[0]) / sizes[0]).long()
    iy = torch.floor((rear[:, 1] - YARD_Y[0]) / sizes[1]).long()
    it = torch.floor((wrap_angle(state[:, 3]) + math.pi) / sizes[2]).long()
    iff = torch.floor((fold + math.pi) / sizes[3]).long()
    nx = int(math.ceil((YARD_X[1] - YARD_X[0]) / sizes[0])) + 2
    ny = int(math.ceil((YARD_Y[1] - YARD_Y[0]) / sizes[1])) + 2
    nt = int(math.ceil(2 * math.pi / sizes[2])) + 2
    return ((iff * nt + it) * ny + iy) * nx + ix


def _to_dock(state: Tensor, kinematics: TruckKinematics) -> Tensor:
    """``[B]`` the layer's ranking: ‖rear − dock‖ + ANGLE_WEIGHT · |wrap θ1| (the env's potential)."""
    return kinematics.trailer_rear(state).norm(dim=-1) + ANGLE_WEIGHT * wrap_angle(state[:, 3]).abs()


def _finish(
    state: Tensor, steps: int, search: LatticeSearch, tracking: FoldTracking, record: bool = False
) -> tuple[Tensor, list[Tensor]]:
    """Drive ``state [B, 4]`` under the finish for up to ``steps`` steps: ``[B]`` bool docked, and the
    fold references used (per step, ``[B]`` each) when ``record``."""
    k = tracking.kinematics
    done = torch.zeros(len(state), dtype=torch.bool)
    docked = done.clone()
    used = []
    for _ in range(steps):
        fold = finish_fold(state, search, k)
        if record:
            used.append(fold)
        state, done, docked = step_episodes(tracking, state, fold[:, None], done, docked)
        if bool(done.all()):
            break
    return docked, used


def search_docking(
    start: Tensor, search: LatticeSearch | None = None, kinematics: TruckKinematics | None = None
) -> Tensor | None:
    """``[T]`` float64 fold references, one per step, that dock ``start [4]`` (see the module docstring),
    or None when the search finds none."""
    search = search or LatticeSearch()
    k = kinematics or TruckKinematics()
    tracking = FoldTracking(k, search.fold_rate, k)
    folds = torch.tensor(search.folds, dtype=torch.float64)
    m = len(folds)
    state = start.to(torch.float64).reshape(1, 4)
    seen = set(_cells(state, search, k).tolist())
    parents: list[Tensor] = []  # per layer: each truck's index in the layer before
    choices: list[Tensor] = []  # per layer: each truck's fold reference index
    depth = 0

    def path(layer: int, index: int) -> list[float]:
        """The held references that led to truck ``index`` of ``layer`` (layer 0 is the start)."""
        refs: list[float] = []
        while layer > 0:
            refs[:0] = [float(folds[choices[layer - 1][index]])] * search.repeat
            index = int(parents[layer - 1][index])
            layer -= 1
        return refs

    while depth * search.repeat < search.max_steps:
        left = search.max_steps - depth * search.repeat
        # The finish from the trucks nearest the dock (each layer's trucks are sorted so).
        tried = state[: search.finish_nodes]
        docked, _ = _finish(tried, left, search, tracking)
        if bool(docked.any()):
            index = int(docked.nonzero()[0])
            _, used = _finish(tried[index : index + 1], left, search, tracking, record=True)
            return torch.tensor(path(depth, index) + [float(u[0]) for u in used], dtype=torch.float64)
        # Every fold reference from every truck, held ``repeat`` steps (fewer at the step limit).
        moving = state.repeat_interleave(m, dim=0)
        refs = folds.repeat(len(state))
        done = torch.zeros(len(moving), dtype=torch.bool)
        docked = done.clone()
        for _ in range(min(search.repeat, left)):
            moving, done, docked = step_episodes(tracking, moving, refs[:, None], done, docked)
        if bool(docked.any()):
            index = int(docked.nonzero()[0])
            return torch.tensor(
                path(depth, index // m) + [float(refs[index])] * search.repeat, dtype=torch.float64
            )
        alive = (~done).nonzero().squeeze(1)
        if len(alive) == 0:
            return None
        cells = _cells(moving[alive], search, k)
        # One truck per new cell: the first of each, in the order of the ranking.
        order = torch.argsort(_to_dock(moving[alive], k), stable=True)
        alive, cells = alive[order], cells[order]
        keep = []
        for i, cell in enumerate(cells.tolist()):
            if cell not in seen:
                seen.add(cell)
                keep.append(i)
                if len(keep) == search.max_nodes:
                    break
        if not keep:
            return None
        kept = alive[torch.tensor(keep)]
        parents.append(kept // m)
        choices.append(kept % m)
        state = moving[kept]
        depth += 1
    return None


def replay_docks(
    start: Tensor,
    refs: Tensor,
    fold_rate: float = 1.0,
    kinematics: TruckKinematics | None = None,
    max_steps: int = MAX_STEPS,
) -> bool:
    """Whether ``refs [T]`` (a fold reference per step, through :class:`FoldTracking` at ``fold_rate``)
    docks ``start [4]`` on the true kinematics in float64 under the env's rules, within ``T`` steps and
    the step limit."""
    k = kinematics or TruckKinematics()
    tracking = FoldTracking(k, fold_rate, k)
    state = start.to(torch.float64).reshape(1, 4)
    for ref in refs.to(torch.float64)[:max_steps]:
        state = k.step(state, tracking.steering(state, ref.reshape(1, 1)))
        status = episode_status(k, state)
        if bool(status.done):
            return bool(status.docked)
    return False


def searched_dockable(
    starts: Tensor, search: LatticeSearch | None = None, kinematics: TruckKinematics | None = None
) -> Tensor:
    """``[B]`` bool: the search found references for the start and they dock it on replay."""
    search = search or LatticeSearch()
    found = torch.zeros(len(starts), dtype=torch.bool)
    for i, start in enumerate(starts):
        refs = search_docking(start, search, kinematics)
        found[i] = refs is not None and replay_docks(start, refs, search.fold_rate, kinematics)
    return found
