"""The truck's MPC cost: steer the trailer rear onto a path that meets the dock square, and judge the arrival.

``cost(states [B, T+1, 4], actions [B, T, 1]) -> [B]`` for the truck state (x, y, θ0, θ1). The episode
ends when the trailer rear reaches the wall (x_rear ≤ 0), so only the states before that count; the
arrival itself is judged where the path crosses the wall (interpolated between the two states around
it), in the env's own tolerances (1 unit of y, 10° of trailer angle, so e ≤ 1 roughly means docked):

    C = Σ_{t before arrival} [ w_guide · (1 − cos(θ1_t − θ1*_t)) + w_dist · ‖rear_t − dock‖ / 40
                               + w_fold · relu(|wrap(θ0_t − θ1_t)| − FOLD_LIMIT)²
                               + w_wall · Σ_points relu(WALL_MARGIN − gap to each wall)² ]
        + (arrived)      w_arrive · e,   e = (Δy / 1)² + (wrap θ1 / 10°)²  at the crossing
        + (not arrived)  w_to_go · ‖rear_T − dock‖ + w_arrive · (1 − cos(θ1_T − θ1*_T))

The guide θ1* = atan2(2 (y_rear − target_y), x_rear) is the trailer heading that backs the rear along
the parabola through it that meets the wall at the dock, square (y ∝ x², whose slope dy/dx = 2y/x):
a heading field that is right everywhere in the yard, so a horizon that cannot see the dock still has
a direction to go, and the terminal terms stand in for the cost of the rest of the way. The fold term
keeps the plan short of a jackknife, the wall term (cab front and trailer rear, every wall but the
dock's) inside the yard.
"""

from __future__ import annotations

import torch
from torch import Tensor

from envs.truck.kinematics import YARD_X, YARD_Y, TruckKinematics, wrap_angle
from envs.truck.outcome import DOCK_ANGLE_TOLERANCE, DOCK_TOLERANCE
from planners.costs import Cost

FOLD_LIMIT = 1.2  # radians (69°) between cab and trailer before the fold term starts (jackknife: 90°)
WALL_MARGIN = 1.0  # the wall term starts this far from a wall
GUIDE_MIN_X = 1.0  # the guide's x is at least this (its angle turns fast right at the wall)
YARD_SIZE = YARD_X[1] - YARD_X[0]


class TruckDockingCost(Cost):
    """See the module docstring; ``target_y`` is the dock's place on the wall."""

    def __init__(
        self,
        target_y: float = 0.0,
        guide_weight: float = 1.0,
        distance_weight: float = 1.0,
        fold_weight: float = 100.0,
        wall_weight: float = 100.0,
        arrive_weight: float = 10.0,
        to_go_weight: float = 1.0,
        kinematics: TruckKinematics | None = None,
    ) -> None:
        self.target_y = target_y
        self.guide_weight, self.distance_weight = guide_weight, distance_weight
        self.fold_weight, self.wall_weight = fold_weight, wall_weight
        self.arrive_weight, self.to_go_weight = arrive_weight, to_go_weight
        self.kinematics = kinematics or TruckKinematics()

    def guide_error(self, rear: Tensor, theta1: Tensor) -> Tensor:
        """1 − cos(θ1 − θ1*): 0 on the guiding parabola's heading, 2 backing the opposite way."""
        guide = torch.atan2(2 * (rear[..., 1] - self.target_y), rear[..., 0].clamp_min(GUIDE_MIN_X))
        return 1 - torch.cos(theta1 - guide)

    def wall_error(self, states: Tensor, rear: Tensor) -> Tensor:
        """Σ relu(WALL_MARGIN − gap)² over the cab front's four walls and the rear's three (not the dock)."""
        flat = states.reshape(-1, states.shape[-1])
        front = self.kinematics.cab_front(flat).reshape(*states.shape[:-1], 2)
        gaps = [
            YARD_X[1] - front[..., 0],
            front[..., 0] - YARD_X[0],
            YARD_Y[1] - front[..., 1],
            front[..., 1] - YARD_Y[0],
            YARD_X[1] - rear[..., 0],
            YARD_Y[1] - rear[..., 1],
            rear[..., 1] - YARD_Y[0],
        ]
        return sum(torch.relu(WALL_MARGIN - gap) ** 2 for gap in gaps)

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        batch, steps = states.shape[0], states.shape[1] - 1
        flat = states.reshape(-1, states.shape[-1])
        rear = self.kinematics.trailer_rear(flat).reshape(batch, steps + 1, 2)
        theta0, theta1 = states[..., 2], states[..., 3]
        dock = torch.tensor([0.0, self.target_y], dtype=states.dtype)
        distance = (rear - dock).pow(2).sum(-1).add(1e-9).sqrt()

        # The first state past the wall ends the episode: a (state index), per trajectory.
        crossed = rear[:, 1:, 0] <= 0
        arrived = crossed.any(dim=1)
        first = torch.where(arrived, crossed.float().argmax(dim=1) + 1, steps + 1)
        before = torch.arange(1, steps + 1).unsqueeze(0) < first.unsqueeze(1)  # [B, T], states 1 … T

        fold = torch.relu(wrap_angle(theta0 - theta1).abs() - FOLD_LIMIT)
        step_costs = (
            self.guide_weight * self.guide_error(rear, theta1)
            + self.distance_weight * distance / YARD_SIZE
            + self.fold_weight * fold**2
            + self.wall_weight * self.wall_error(states, rear)
        )[:, 1:]
        running = (step_costs * before).sum(dim=1)

        # The arrival, interpolated to x_rear = 0 between the states either side of the wall.
        rows = torch.arange(batch)
        at, prev = first.clamp_max(steps), (first - 1).clamp(0, steps)
        x_prev, x_at = rear[rows, prev, 0], rear[rows, at, 0]
        share = (x_prev / (x_prev - x_at).clamp_min(1e-9)).clamp(0.0, 1.0)
        y_cross = rear[rows, prev, 1] + share * (rear[rows, at, 1] - rear[rows, prev, 1])
        theta_cross = theta1[rows, prev] + share * (theta1[rows, at] - theta1[rows, prev])
        arrival_error = ((y_cross - self.target_y) / DOCK_TOLERANCE) ** 2 + (
            wrap_angle(theta_cross) / DOCK_ANGLE_TOLERANCE
        ) ** 2
        # Not there yet: the way left, and the heading at the end, weighed like an arrival (pointing off
        # the guide there means arriving askew later, or going round).
        to_go = self.to_go_weight * distance[:, -1] + self.arrive_weight * self.guide_error(
            rear[:, -1], theta1[:, -1]
        )
        return running + torch.where(arrived, self.arrive_weight * arrival_error, to_go)
