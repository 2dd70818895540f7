"""The truck controller by BPTT: its error's gradient, and a short lesson that improves docking."""

import math

import pytest
import torch

from envs.truck.batch import sample_starts
from envs.truck.kinematics import TruckKinematics
from planners.truck_controller import (
    VALIDATION_SEED,
    YARD_MARGIN,
    BPTTConfig,
    ControllerConfig,
    Lesson,
    TruckControllerNet,
    failure_breakdown,
    final_state_error,
    success_rate,
    train_controller,
    unfold,
    unfolded_success,
    yard_excursion,
)

KIN = TruckKinematics()
# Square to the dock, a truck length or two away: a lesson a few dozen gradient steps learn.
NEAR = Lesson((9.0, 11.0), (-1.0, 1.0), math.radians(8), math.radians(8), 80)
# Beside the dock: backing straight (an untrained fold controller's way) misses most of these.
BESIDE = Lesson((14.0, 16.0), (-3.0, 3.0), math.radians(8), math.radians(8), 200)


class _Straight(TruckControllerNet):
    """Steers straight ahead whatever the state."""

    def forward(self, state: torch.Tensor, target_y: torch.Tensor | float = 0.0) -> torch.Tensor:
        return torch.zeros(len(state), 1, dtype=state.dtype)


def _starts(n: int, seed: int, lesson: Lesson = NEAR) -> torch.Tensor:
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
        final, *_ = unfold(net, KIN.step, starts, 0.0, 60, KIN)
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


@pytest.mark.parametrize(("output", "lesson"), [("steering", NEAR), ("fold", BESIDE)])
def test_a_short_lesson_docks_more_trucks_than_the_untrained_controller(output, lesson):
    torch.manual_seed(0)
    net = TruckControllerNet(ControllerConfig(hidden=(32, 32), output=output))
    held_out = _starts(200, seed=99, lesson=lesson)
    before = success_rate(net, held_out, max_steps=lesson.max_steps)
    config = BPTTConfig(batch_size=32, lr=1e-2 if output == "fold" else 3e-3, lessons=(lesson,), seed=1)
    log = train_controller(net, KIN.step, config, iterations=40)
    after = success_rate(net, held_out, max_steps=lesson.max_steps)
    assert log.error[-1] < log.error[0]
    assert after > before + 0.3, (before, after)


def test_training_keeps_the_best_validated_weights():
    torch.manual_seed(0)
    net = TruckControllerNet(ControllerConfig(hidden=(16,), output="steering"))
    config = BPTTConfig(
        batch_size=16,
        lr=1e-2,
        lessons=(NEAR,),
        validate_every=1,
        validation_size=32,
        seed=2,
        yard_weight=0.0,
        strain_weight=0.0,  # a run whose last weights are known not to be its best
    )
    log = train_controller(net, KIN.step, config, iterations=6)
    scores = [score for _, score in log.validation]
    assert len(scores) == 6 and scores[-1] < max(scores)  # the last weights are not the best ones
    generator = torch.Generator().manual_seed(config.seed + VALIDATION_SEED)
    starts = sample_starts(
        32, generator, NEAR.x_range, NEAR.y_range, NEAR.heading_spread, NEAR.trailer_offset
    )
    assert unfolded_success(net, KIN.step, starts.float(), 0.0, NEAR.max_steps) == max(scores)


def test_soft_yard_drives_on_outside_and_measures_the_excursion():
    net = _Straight(ControllerConfig(hidden=(4,)))
    start = torch.tensor([[35.0, 0.0, math.pi, math.pi]], dtype=torch.float64)  # backing into the far wall
    hard, hard_steps, hard_out, _ = unfold(net, KIN.step, start, 0.0, 100, KIN)
    soft, soft_steps, soft_out, _ = unfold(net, KIN.step, start, 0.0, 100, KIN, soft_yard=True)
    assert 40 < KIN.trailer_rear(hard)[0, 0] <= 40.1 and hard_out.item() == 0.0  # ends past x = 40
    # Drives on until the rear is YARD_MARGIN beyond x = 40; the excursion sums over the straight path.
    assert 40 + YARD_MARGIN < KIN.trailer_rear(soft)[0, 0] <= 40.1 + YARD_MARGIN
    steps = torch.arange(1, soft_steps.item() + 1, dtype=torch.float64)[:, None]
    path = start + steps * torch.tensor([[0.1, 0.0, 0.0, 0.0]])
    assert soft_out.item() == pytest.approx(yard_excursion(KIN, path).sum().item(), rel=1e-6)


def test_failure_breakdown_names_how_each_episode_ends():
    starts = torch.tensor(
        [
            [10.0, 0.0, 0.0, 0.0],  # backs straight into the dock
            [10.0, 5.0, 0.0, 0.0],  # straight to the wall, 5 units beside the dock
            [30.0, 0.0, math.pi, math.pi],  # straight into the far wall
            [20.0, 6.0, math.pi / 2, math.pi / 2],  # across the yard, still going after 100 steps
        ],
        dtype=torch.float64,
    )
    breakdown = failure_breakdown(_Straight(ControllerConfig(hidden=(4,))), starts, max_steps=100)
    assert breakdown["towards"] == {
        "docked": 1,
        "jackknife": 0,
        "missed_dock": 1,
        "left_yard": 0,
        "time_limit": 0,
    }
    assert breakdown["away"]["left_yard"] == 1 and breakdown["across"]["time_limit"] == 1


def test_fold_output_steers_by_the_fold_tracking_law():
    from planners.fold_tracking import FoldTracking

    torch.manual_seed(0)
    net = TruckControllerNet(ControllerConfig(hidden=(8,), output="fold", max_fold=1.2)).double()
    starts = _starts(16, seed=3)
    u = net.mlp(net.features(starts))
    expected = FoldTracking(KIN, 1.0, KIN).steering(starts, 1.2 * u / (1 + u**2).sqrt())
    torch.testing.assert_close(net(starts), expected)
    # Holding a fold reference leaves no fold beyond it: no jackknife however long the truck backs.
    final, *_ = unfold(net, KIN.step, starts, 0.0, 300, KIN)
    assert not KIN.is_jackknifed(final).any()


def test_bad_controller_settings_are_user_errors():
    from core.errors import UserError

    with pytest.raises(UserError, match="output"):
        ControllerConfig(output="torque")
    with pytest.raises(UserError, match="max_fold"):
        ControllerConfig(output="fold", max_fold=2.0)
