"""How an episode of the truck ends, and the shaped reward (one place for both, so they agree).

Termination, checked in this order after each step:
  - ``"jackknife"``: |wrap(θ0 − θ1)| > 90°.
  - the trailer rear reaches the wall (x_rear ≤ 0): ``"docked"`` when |y_rear − target_y| ≤ 1,
    |wrap(θ1)| ≤ 10° (the trailer square to the wall) and the cab front is inside the yard;
    ``"missed_dock"`` otherwise.
  - ``"left_yard"``: the cab front or the trailer rear is outside [0, 40] × [−10, 10].

Reward (potential-based progress plus end bonuses):
  r = Φ(s') − Φ(s) + bonus,  Φ(s) = −(‖rear − (0, target_y)‖ + ANGLE_WEIGHT · |wrap(θ1)|),
  bonus = +DOCK_BONUS when docked, −CRASH_PENALTY on jackknife or leaving the yard, 0 otherwise.
A missed dock gets no bonus: Φ has already charged its remaining distance and angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from envs.truck.kinematics import YARD_X, YARD_Y, TruckKinematics, wrap_angle

DOCK_TOLERANCE = 1.0
DOCK_ANGLE_TOLERANCE = math.radians(10.0)
ANGLE_WEIGHT = 2.0  # distance units per radian of trailer angle error
DOCK_BONUS = 10.0
CRASH_PENALTY = 10.0


@dataclass(frozen=True)
class Outcome:
    """Where the truck stands against the dock after a step, and how the episode ends (if it does)."""

    distance: float  # trailer rear to the dock (0, target_y)
    angle_error: float  # |wrap(θ1)|, radians
    reason: str | None  # None while the episode goes on

    @property
    def terminated(self) -> bool:
        return self.reason is not None

    @property
    def potential(self) -> float:
        """Φ(s) = −(distance + ANGLE_WEIGHT · angle error)."""
        return -(self.distance + ANGLE_WEIGHT * self.angle_error)

    @property
    def bonus(self) -> float:
        if self.reason == "docked":
            return DOCK_BONUS
        if self.reason in ("jackknife", "left_yard"):
            return -CRASH_PENALTY
        return 0.0


def judge(kinematics: TruckKinematics, state: Tensor, target_y: float) -> Outcome:
    """The outcome of a single state ``[1, 4]``."""
    rear_x, rear_y = kinematics.trailer_rear(state)[0].tolist()
    angle_error = abs(float(wrap_angle(state[0, 3])))
    distance = math.hypot(rear_x, rear_y - target_y)
    if bool(kinematics.is_jackknifed(state)):
        reason = "jackknife"
    elif rear_x <= YARD_X[0]:
        front_x, front_y = kinematics.cab_front(state)[0].tolist()
        cab_inside = YARD_X[0] <= front_x <= YARD_X[1] and YARD_Y[0] <= front_y <= YARD_Y[1]
        on_target = abs(rear_y - target_y) <= DOCK_TOLERANCE and angle_error <= DOCK_ANGLE_TOLERANCE
        reason = "docked" if on_target and cab_inside else "missed_dock"
    elif not bool(kinematics.in_yard(state)):
        reason = "left_yard"
    else:
        reason = None
    return Outcome(distance=distance, angle_error=angle_error, reason=reason)


def is_valid_start(kinematics: TruckKinematics, state: Tensor) -> bool:
    """A state ``[1, 4]`` an episode may start from: inside the yard and not jackknifed."""
    return bool(torch.isfinite(state).all()) and judge(kinematics, state, 0.0).reason is None
