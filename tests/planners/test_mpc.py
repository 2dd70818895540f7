"""Planners: gradients through the rollout, the warm start by shifting, known optima, bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.car.kinematics import CarKinematics
from planners import CEM, MPPI, GradientMPC, rollout
from planners.costs import ControlEffort, FinalPositionSpeed, MeanDistance, Obstacles, SoftminDistance

PLANNERS = {
    "gradient-tanh": lambda dyn, cost, T, lo, hi: GradientMPC(dyn, cost, T, lo, hi, iterations=200, lr=0.05),
    "gradient-clip": lambda dyn, cost, T, lo, hi: GradientMPC(
        dyn, cost, T, lo, hi, iterations=200, lr=0.05, bounds="clip"
    ),
    "cem": lambda dyn, cost, T, lo, hi: CEM(dyn, cost, T, lo, hi, samples=400, elites=40, iterations=10),
    "mppi": lambda dyn, cost, T, lo, hi: MPPI(
        dyn, cost, T, lo, hi, samples=2000, temperature=0.01, noise_std=0.3, iterations=10
    ),
}


class Integrator:
    """s' = s + a in one dimension: a quadratic cost of it has a known optimum."""

    state_dim = 1
    action_dim = 1

    def step(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return state + action


class Stepwise:
    """The car without its closed-form rollout, so ``rollout`` steps it T times."""

    def __init__(self, car: CarKinematics) -> None:
        self.car, self.state_dim, self.action_dim = car, car.state_dim, car.action_dim

    def step(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.car.step(state, action)


def reach(target: float):
    """(s_T − target)² + Σ_t a_t²; from s_0 = 0 over T = 3 steps the optimum is a_t = target / 4."""

    def cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return (states[:, -1, 0] - target).pow(2) + actions.pow(2).sum(dim=(-2, -1))

    return cost


@pytest.mark.parametrize("stepwise", [False, True])
def test_rollout_cost_gradient_matches_finite_differences(stepwise: bool) -> None:
    car = CarKinematics()
    dynamics = Stepwise(car) if stepwise else car
    cost = (
        FinalPositionSpeed((2.0, 1.0))
        + MeanDistance((2.0, 1.0))
        + SoftminDistance((2.0, 1.0), temperature=0.5)
        + Obstacles([[0.5, 0.1]], [0.3], margin=0.2)
        + 0.1 * ControlEffort()
    )
    start = torch.tensor([[0.0, 0.0, 0.2, 1.0], [0.3, -0.2, -0.1, 0.5]], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    # Inside the bounds, where the clamp is the identity and the cost is smooth.
    actions = 0.3 * (torch.rand(2, 8, 2, generator=generator, dtype=torch.float64) - 0.5)
    actions.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: cost(rollout(dynamics, start, a), a), (actions,))


def test_closed_form_rollout_equals_stepping() -> None:
    car = CarKinematics()
    generator = torch.Generator().manual_seed(1)
    start = torch.randn(5, 4, generator=generator, dtype=torch.float64)
    actions = 3 * torch.randn(5, 30, 2, generator=generator, dtype=torch.float64)  # beyond bounds too
    assert torch.allclose(rollout(car, start, actions), rollout(Stepwise(car), start, actions), atol=1e-12)


@pytest.mark.parametrize("name", list(PLANNERS))
def test_planners_find_the_known_optimum_of_a_quadratic(name: str) -> None:
    planner = PLANNERS[name](Integrator(), reach(2.0), 3, -1.0, 1.0)
    action = planner.plan(np.zeros(1))
    assert action.shape == (1,) and action.dtype == np.float32
    tolerance = 0.01 if name.startswith("gradient") else 0.05
    np.testing.assert_allclose(planner.plan_actions.numpy().ravel(), [0.5, 0.5, 0.5], atol=tolerance)


@pytest.mark.parametrize("name", list(PLANNERS))
def test_action_bounds_are_never_violated(name: str) -> None:
    low, high = -1.0, 0.5
    seen: list[torch.Tensor] = []

    def cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions.detach())
        return reach(10.0)(states, actions) - actions.pow(2).sum(dim=(-2, -1))  # wants a far above 0.5

    planner = PLANNERS[name](Integrator(), cost, 3, low, high)
    state = torch.zeros(1)
    for _ in range(3):
        action = planner.plan(state)
        state = state + action
    evaluated = torch.cat([a.reshape(-1) for a in seen])
    assert bool((evaluated >= low).all() and (evaluated <= high).all())
    assert torch.allclose(planner.plan_actions, torch.full((3, 1), high), atol=0.02)


def test_warm_start_is_the_last_plan_shifted() -> None:
    planner = GradientMPC(Integrator(), reach(2.0), 3, -1.0, 1.0, iterations=5)
    assert torch.equal(planner.warm_start(), torch.zeros(3, 1))  # the middle of the bounds
    planner.plan(np.zeros(1))
    plan = planner.plan_actions.clone()
    assert torch.equal(planner.warm_start(), torch.stack((plan[1], plan[2], plan[2])))
    planner.reset()
    assert planner.plan_actions is None and torch.equal(planner.warm_start(), torch.zeros(3, 1))


def test_warm_start_carries_the_optimisation_across_calls() -> None:
    """One iteration per call from the same state: each call goes on from where the last one stopped."""
    planner = GradientMPC(Integrator(), reach(2.0), 3, -1.0, 1.0, iterations=1, lr=0.05)
    costs = []
    for _ in range(20):
        planner.plan(np.zeros(1))
        costs.append(planner.plan_cost)
    # Adam's first step is lr in each coordinate: ten calls walk the plan from 0 to the optimum 0.5.
    assert all(later < earlier for earlier, later in zip(costs[:11], costs[1:11], strict=False))
    assert all(later <= earlier for earlier, later in zip(costs, costs[1:], strict=False))
    np.testing.assert_allclose(planner.plan_actions.numpy().ravel(), 0.5, atol=0.01)


def test_batched_restarts_escape_a_local_minimum() -> None:
    # Two basins: a local minimum near a = −1 and the global one at a = 1.5.
    def double_well(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        a = actions[:, 0, 0]
        return (a + 1).pow(2) * (a - 1.5).pow(2) + 0.5 * (a - 1.5).pow(2)

    found = {}
    for restarts in (1, 16):
        planner = GradientMPC(
            Integrator(), double_well, 1, -2.0, 2.0, iterations=30, lr=0.05, restarts=restarts
        )
        planner.plan_actions = torch.full((1, 1), -1.0)  # warm start in the wrong basin
        found[restarts] = float(planner.plan(np.zeros(1))[0])
    assert found[1] < 0 and abs(found[16] - 1.5) < 0.05


def test_a_batch_of_starts_is_optimised_row_by_row_as_one_start_each() -> None:
    starts, init = (
        torch.tensor([[0.0], [1.0], [-0.5]]),
        torch.tensor([[[0.0]] * 3, [[0.3]] * 3, [[-0.8]] * 3]),
    )
    planner = GradientMPC(Integrator(), reach(2.0), 3, -1.0, 1.0, iterations=6, lr=0.05)
    batched = planner.optimize_starts(starts, init)
    alone = torch.stack(
        [planner.optimize(start[None], plan) for start, plan in zip(starts, init, strict=True)]
    )
    assert torch.allclose(batched, alone, atol=1e-6)
    # Each row improves on its first plan.
    cost = reach(2.0)
    after, before = (
        cost(rollout(Integrator(), starts, batched), batched),
        cost(rollout(Integrator(), starts, init), init),
    )
    assert bool((after < before).all())
    # With restarts, each row also optimises random plans of its own and keeps the cheapest: never
    # costlier than its warm start alone.
    restarted = GradientMPC(Integrator(), reach(2.0), 3, -1.0, 1.0, iterations=6, lr=0.05, restarts=4)
    plans = restarted.optimize_starts(starts, init)
    assert plans.shape == (3, 3, 1) and bool((plans.abs() <= 1).all())
    assert bool((cost(rollout(Integrator(), starts, plans), plans) <= after + 1e-6).all())


def test_constant_restarts_span_the_bounds_and_escape_a_local_minimum() -> None:
    def double_well(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        a = actions[:, 0, 0]
        return (a + 1).pow(2) * (a - 1.5).pow(2) + 0.5 * (a - 1.5).pow(2)

    seen = []

    def recording(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        seen.append(actions.detach().clone())
        return double_well(states, actions)

    planner = GradientMPC(
        Integrator(), recording, 1, -2.0, 2.0, iterations=30, lr=0.05, restarts=3, restart_plans="constant"
    )
    planner.plan_actions = torch.full((1, 1), -1.0)  # warm start in the wrong basin
    found = float(planner.plan(np.zeros(1))[0])
    # The first evaluation: the warm start, then plans held in the middle of each half of the range.
    assert torch.allclose(seen[0].reshape(-1), torch.tensor([-1.0, -1.0, 1.0]), atol=1e-5)
    assert abs(found - 1.5) < 0.05


def test_same_seed_same_plan() -> None:
    plans = []
    for _ in range(2):
        planner = MPPI(Integrator(), reach(2.0), 3, -1.0, 1.0, samples=100, seed=3)
        plans.append(planner.plan(np.zeros(1)))
    assert np.array_equal(*plans)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GradientMPC(Integrator(), reach(1.0), 0, -1.0, 1.0),
        lambda: GradientMPC(Integrator(), reach(1.0), 3, 1.0, -1.0),
        lambda: GradientMPC(Integrator(), reach(1.0), 3, [-1.0, -1.0], 1.0),
        lambda: GradientMPC(Integrator(), reach(1.0), 3, -1.0, 1.0, bounds="sigmoid"),
        lambda: GradientMPC(Integrator(), reach(1.0), 3, -1.0, 1.0, restart_plans="gaussian"),
        lambda: CEM(Integrator(), reach(1.0), 3, -1.0, 1.0, samples=10, elites=20),
        lambda: MPPI(Integrator(), reach(1.0), 3, -1.0, 1.0, temperature=0.0),
    ],
)
def test_bad_settings_are_user_errors(make) -> None:
    with pytest.raises(UserError):
        make()


def test_wrong_state_size_is_a_user_error() -> None:
    planner = MPPI(Integrator(), reach(1.0), 3, -1.0, 1.0, samples=10)
    with pytest.raises(UserError, match="state must have 1"):
        planner.plan(np.zeros(2))
