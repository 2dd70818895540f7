"""The truck's MPC cost: bring the trailer rear to the dock, square to the wall, without folding.

``cost(states [B, T+1, 4], actions [B, T, 1]) -> [B]`` for the truck state (x, y, θ0, θ1), averaged over
the horizon's steps t = 1 … T:

    c_t = ‖rear_t − (0, target_y)‖² + w_angle · exp(−x_rear,t / ANGLE_RANGE) · wrap(θ1_t)²
          + w_fold · relu(|wrap(θ0_t − θ1_t)| − FOLD_LIMIT)²

The angle counts more as the rear nears the wall (far off, the trailer must turn to get there); the fold
term keeps the plan away from a jackknife, which a short horizon would otherwise not see coming.
"""

from __future__ import annotations

import torch
from torch import Tensor

from envs.truck.kinematics import TruckKinematics, wrap_angle
from planners.costs import Cost

ANGLE_RANGE = 8.0  # the angle term's weight falls by e every 8 units from the wall
FOLD_LIMIT = 1.0  # radians (57°) between cab and trailer before the fold term starts


class TruckDockingCost(Cost):
    """See the module docstring; ``target_y`` is the dock's place on the wall."""

    def __init__(
        self,
        target_y: float = 0.0,
        angle_weight: float = 30.0,
        fold_weight: float = 100.0,
        kinematics: TruckKinematics | None = None,
    ) -> None:
        self.target_y, self.angle_weight, self.fold_weight = target_y, angle_weight, fold_weight
        self.kinematics = kinematics or TruckKinematics()

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        path = states[:, 1:]
        flat = path.reshape(-1, path.shape[-1])
        rear = self.kinematics.trailer_rear(flat).reshape(*path.shape[:2], 2)
        distance2 = rear[..., 0] ** 2 + (rear[..., 1] - self.target_y) ** 2
        nearness = torch.exp(-rear[..., 0].clamp_min(0.0) / ANGLE_RANGE)
        angle2 = wrap_angle(path[..., 3]) ** 2
        fold = torch.relu(wrap_angle(path[..., 2] - path[..., 3]).abs() - FOLD_LIMIT)
        step_costs = distance2 + self.angle_weight * nearness * angle2 + self.fold_weight * fold**2
        return step_costs.mean(dim=1)
