"""The dockable fraction's upper bound: the interval box holds every reachable truck, and its proofs hold."""

import math

import torch

from envs.truck.batch import sample_starts
from envs.truck.kinematics import TruckKinematics, wrap_angle
from planners.truck_dockable import _box_step, certainly_undockable
from planners.truck_search import search_docking


def _start_with_rear(rear_x: float, rear_y: float, theta1: float) -> torch.Tensor:
    """``[4]`` a straight truck (no fold) whose trailer rear is at (rear_x, rear_y), heading θ1."""
    x, y = rear_x + 4 * math.cos(theta1), rear_y + 4 * math.sin(theta1)
    return torch.tensor([x, y, theta1, theta1], dtype=torch.float64)


def test_the_box_holds_every_truck_that_steering_reaches():
    kinematics = TruckKinematics()
    generator = torch.Generator().manual_seed(0)
    starts = sample_starts(64, generator)
    rear, fold = kinematics.trailer_rear(starts), wrap_angle(starts[:, 2] - starts[:, 3])
    box = torch.stack(
        (rear[:, 0], rear[:, 0], rear[:, 1], rear[:, 1], starts[:, 3], starts[:, 3], fold, fold), -1
    )
    state = starts.clone()
    state[:, 2] = state[:, 3] + fold
    alive = torch.ones(len(starts), dtype=torch.bool)
    for step in range(120):
        steering = (
            (2 * torch.rand(len(starts), 1, generator=generator, dtype=torch.float64) - 1) * math.pi / 4
        )
        if step % 2:
            steering = steering.sign() * math.pi / 4  # the bounds themselves too
        state = kinematics.step(state, steering)
        box = _box_step(box, -1.0, 1.0, kinematics)
        alive &= ~kinematics.is_jackknifed(state)  # a jackknifed truck has ended; the box drops it
        rear = kinematics.trailer_rear(state)
        values = torch.stack((rear[:, 0], rear[:, 1], state[:, 3], state[:, 2] - state[:, 3]), -1)[alive]
        assert bool((values >= box[alive, 0::2] - 1e-12).all() and (values <= box[alive, 1::2] + 1e-12).all())


def test_a_rear_at_a_side_wall_and_backing_into_it_is_proved_undockable():
    # Heading θ1 = −90° backs the rear straight up: its first step moves it by |s| = 0.1, past y = 10.
    # Two units from the wall the fold can swing to 90° (and the rear stop) in time: not proved.
    starts = torch.stack(
        (_start_with_rear(20.0, 9.95, -math.pi / 2), _start_with_rear(20.0, 8.0, -math.pi / 2))
    )
    assert certainly_undockable(starts).tolist() == [True, False]


def test_the_search_docks_no_start_the_proof_rules_out():
    starts = sample_starts(4000, torch.Generator().manual_seed(3))
    doomed = starts[certainly_undockable(starts)][:4]
    assert len(doomed) == 4
    assert all(search_docking(start) is None for start in doomed)
