"""Truck kinematics: a hand-computed step, batching, gradients, and the geometric helpers."""

import math

import pytest
import torch

from envs.truck.kinematics import TruckKinematics, wrap_angle

KIN = TruckKinematics()


def test_one_step_by_hand():
    # (x, y, θ0, θ1) = (10, 2, π/6, 0), φ = π/4 so tan φ = 1, s = −0.1, L = 1, d = 4:
    # x' = 10 − 0.1 cos(π/6) = 10 − 0.0866025 = 9.9133975
    # y' = 2 − 0.1 sin(π/6) = 2 − 0.05 = 1.95
    # θ0' = π/6 − 0.1 · 1 = 0.5235988 − 0.1 = 0.4235988
    # θ1' = 0 − (0.1 / 4) sin(π/6 − 0) = −0.025 · 0.5 = −0.0125
    state = torch.tensor([[10.0, 2.0, math.pi / 6, 0.0]], dtype=torch.float64)
    action = torch.tensor([[math.pi / 4]], dtype=torch.float64)
    expected = torch.tensor([[9.9133975, 1.95, 0.4235988, -0.0125]], dtype=torch.float64)
    torch.testing.assert_close(KIN.step(state, action), expected, atol=1e-7, rtol=0)


def test_steering_is_clamped_to_45_degrees():
    state = torch.tensor([[10.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    wild = KIN.step(state, torch.tensor([[3.0]], dtype=torch.float64))
    limit = KIN.step(state, torch.tensor([[math.pi / 4]], dtype=torch.float64))
    torch.testing.assert_close(wild, limit)


def test_geometry_helpers():
    state = torch.tensor([[10.0, 2.0, 0.0, math.pi / 2]], dtype=torch.float64)
    torch.testing.assert_close(KIN.trailer_rear(state), torch.tensor([[10.0, -2.0]], dtype=torch.float64))
    torch.testing.assert_close(KIN.cab_front(state), torch.tensor([[11.0, 2.0]], dtype=torch.float64))
    states = torch.tensor(
        [
            [10.0, 0.0, 0.0, 0.0],  # straight, inside
            [10.0, 0.0, 0.1, 0.1 + 1.6],  # 91.7° between cab and trailer
            [10.0, 0.0, 3.1, -3.1],  # 6.2 rad apart, but only 4.6° once wrapped
            [2.0, 0.0, 0.0, 0.0],  # trailer rear at x = −2: past the wall
            [10.0, 9.5, math.pi / 2, math.pi / 2],  # cab front at y = 10.5
        ],
        dtype=torch.float64,
    )
    assert KIN.is_jackknifed(states).tolist() == [False, True, False, False, False]
    assert KIN.in_yard(states).tolist() == [True, True, True, False, False]


def test_wrap_angle_range():
    angles = torch.tensor([-7.0, -math.pi, 0.0, math.pi, 7.0], dtype=torch.float64)
    wrapped = wrap_angle(angles)
    assert ((wrapped >= -math.pi) & (wrapped < math.pi)).all()
    torch.testing.assert_close(torch.sin(wrapped), torch.sin(angles))
    torch.testing.assert_close(torch.cos(wrapped), torch.cos(angles))


def test_batched_step_matches_rows_one_at_a_time():
    generator = torch.Generator().manual_seed(0)
    states = torch.rand(5, 4, generator=generator, dtype=torch.float64) * 6
    actions = (torch.rand(5, 1, generator=generator, dtype=torch.float64) - 0.5) * 1.5
    batched = KIN.step(states, actions)
    for i in range(5):
        torch.testing.assert_close(batched[i : i + 1], KIN.step(states[i : i + 1], actions[i : i + 1]))


def _final_distance(first_action: torch.Tensor, rest: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    state = KIN.step(start, first_action.reshape(1, 1))
    for phi in rest:
        state = KIN.step(state, phi.reshape(1, 1))
    return KIN.trailer_rear(state).norm()


@pytest.mark.parametrize("first", [0.3, -0.5])
def test_gradient_of_final_distance_matches_finite_differences(first):
    start = torch.tensor([[15.0, 3.0, 0.4, 0.2]], dtype=torch.float64)
    rest = torch.linspace(-0.6, 0.6, 20, dtype=torch.float64)
    phi = torch.tensor(first, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_final_distance(phi, rest, start), phi)
    eps = 1e-6
    with torch.no_grad():
        plus = _final_distance(torch.tensor(first + eps, dtype=torch.float64), rest, start)
        minus = _final_distance(torch.tensor(first - eps, dtype=torch.float64), rest, start)
    numeric = (plus - minus) / (2 * eps)
    assert grad.abs() > 1e-3  # the check is not vacuous
    torch.testing.assert_close(grad, numeric, atol=1e-7, rtol=1e-6)
