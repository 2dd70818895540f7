"""The truck controller by BPTT: its error's gradient, and a short lesson that improves docking."""

import math

import torch

from envs.truck.batch import sample_starts
from envs.truck.kinematics import TruckKinematics
from planners.truck_controller import (
    BPTTConfig,
    ControllerConfig,
    Lesson,
    TruckControllerNet,
    final_state_error,
    success_rate,
    train_controller,
    unfold,
)

KIN = TruckKinematics()
# Square to the dock, a truck length or two away: a lesson a few dozen gradient steps learn.
NEAR = Lesson((9.0, 11.0), (-1.0, 1.0), math.radians(8), math.radians(8), 80)


def _starts(n: int, seed: int) -> torch.Tensor:
    lesson = NEAR
    return sample_starts(
        n,
        torch.Generator().manual_seed(seed),
        lesson.x_range,
        lesson.y_range,
        lesson.heading_spread,
        lesson.trailer_offset,
    )


def test_gradient_of_final_error_through_the_unfolding_matches_finite_differences():
    torch.manual_seed(0)
    net = TruckControllerNet(ControllerConfig(hidden=(16,))).double()
    starts = _starts(4, seed=0)
    weight = net.mlp.net[-1].bias

    def error() -> torch.Tensor:
        final, _ = unfold(net, KIN.step, starts, 0.0, 60, KIN)
        return final_state_error(KIN, final, 0.0, 30.0, 10.0).mean()

    (grad,) = torch.autograd.grad(error(), weight)
    eps = 1e-6
    with torch.no_grad():
        weight += eps
        plus = error()
        weight -= 2 * eps
        minus = error()
        weight += eps
    assert grad.abs().item() > 1e-3
    torch.testing.assert_close(grad[0], (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-8)


def test_a_short_lesson_docks_more_trucks_than_the_untrained_controller():
    torch.manual_seed(0)
    net = TruckControllerNet(ControllerConfig(hidden=(32, 32)))
    held_out = _starts(200, seed=99)
    before = success_rate(net, held_out, max_steps=NEAR.max_steps)
    config = BPTTConfig(batch_size=32, lr=3e-3, lessons=(NEAR,), seed=1)
    log = train_controller(net, KIN.step, config, iterations=40)
    after = success_rate(net, held_out, max_steps=NEAR.max_steps)
    assert log.error[-1] < log.error[0]
    assert after > before + 0.3, (before, after)
