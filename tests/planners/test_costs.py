"""The lab's costs and the extra terms, on a hand-made trajectory whose values are known."""

from __future__ import annotations

import math

import pytest
import torch

from core.errors import UserError
from planners.costs import (
    ControlEffort,
    FinalPosition,
    FinalPositionSpeed,
    MeanDistance,
    Obstacles,
    SoftminDistance,
    TerminalSpeed,
)

# One trajectory (x, y, θ, s): the start, then distances 3, 1, 2 to the target (3, 0).
STATES = torch.tensor(
    [[[9.0, 9.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, 2.0], [3.0, 2.0, 0.0, -0.5]]]
)
ACTIONS = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.5, 0.0]]])
TARGET = (3.0, 0.0)


def test_final_position_is_the_squared_last_distance() -> None:
    assert FinalPosition(TARGET)(STATES, ACTIONS).item() == pytest.approx(4.0)


def test_final_position_and_speed_adds_the_weighted_squared_speed() -> None:
    assert FinalPositionSpeed(TARGET, speed_weight=2.0)(STATES, ACTIONS).item() == pytest.approx(4.0 + 0.5)


def test_mean_distance_ignores_the_start() -> None:
    assert MeanDistance(TARGET)(STATES, ACTIONS).item() == pytest.approx(2.0, abs=1e-4)


def test_softmin_is_minus_logsumexp_of_minus_distances() -> None:
    expected = -math.log(math.exp(-3) + math.exp(-1) + math.exp(-2))
    assert SoftminDistance(TARGET)(STATES, ACTIONS).item() == pytest.approx(expected, abs=1e-4)
    # A low temperature tends to the minimum distance.
    assert SoftminDistance(TARGET, temperature=0.01)(STATES, ACTIONS).item() == pytest.approx(1.0, abs=1e-3)


def test_terminal_speed_and_control_effort() -> None:
    assert TerminalSpeed()(STATES, ACTIONS).item() == pytest.approx(0.25)
    assert ControlEffort([1.0, 0.1])(STATES, ACTIONS).item() == pytest.approx(1.0 + 0.4 + 0.25)


def test_obstacles_penalise_only_intrusions() -> None:
    # A circle of radius 0.5 at (2, 0.2): only the point (2, 0) is inside, 0.3 deep.
    obstacles = Obstacles([[2.0, 0.2]], [0.5])
    assert obstacles(STATES, ACTIONS).item() == pytest.approx(0.3**2, abs=1e-4)
    assert Obstacles([[2.0, 0.2]], [0.5], margin=0.1)(STATES, ACTIONS).item() == pytest.approx(
        0.4**2, abs=1e-4
    )
    assert Obstacles([[20.0, 0.0]], [0.5])(STATES, ACTIONS).item() == 0.0


def test_obstacles_check_every_point_of_a_footprint() -> None:
    # Two points per state, (x, y) and (x, y + 0.2): (2, 0.2) is on the centre, 0.5 deep, (2, 0) 0.3 deep.
    def footprint(states: torch.Tensor) -> torch.Tensor:
        return torch.stack((states[..., :2], states[..., :2] + torch.tensor([0.0, 0.2])), dim=-2)

    cost = Obstacles([[2.0, 0.2]], [0.5], footprint=footprint)(STATES, ACTIONS).item()
    assert cost == pytest.approx(0.5**2 + 0.3**2, abs=1e-4)


def test_costs_add_and_scale() -> None:
    total = FinalPosition(TARGET) + 3.0 * TerminalSpeed()
    assert total(STATES, ACTIONS).item() == pytest.approx(4.0 + 0.75)


def test_bad_cost_settings_are_user_errors() -> None:
    with pytest.raises(UserError):
        FinalPosition((1.0, 2.0, 3.0))
    with pytest.raises(UserError):
        SoftminDistance(TARGET, temperature=0.0)
    with pytest.raises(UserError):
        Obstacles([[0.0, 0.0], [1.0, 1.0]], [0.5])
