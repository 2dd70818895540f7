"""The truck's MPC pieces: held actions, the docking cost, gradient MPC docking, and the dockable bounds."""

import math
from dataclasses import replace

import torch

from envs.truck.batch import rollout, sample_starts
from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import MAX_STEER, TruckKinematics
from planners.fold_tracking import FoldTracking
from planners.gradient_mpc import GradientMPC
from planners.held_action import HeldAction
from planners.truck_cost import TruckDockingCost
from planners.truck_dockable import DockableSearch, certainly_undockable, dockable, mpc_runs


def test_held_action_steps_the_wrapped_dynamics_repeat_times():
    kinematics = TruckKinematics()
    state = torch.tensor([[20.0, 1.0, 0.3, 0.1]], dtype=torch.float64)
    action = torch.tensor([[0.2]], dtype=torch.float64)
    expected = state
    for _ in range(7):
        expected = kinematics.step(expected, action)
    assert torch.allclose(HeldAction(kinematics, 7).step(state, action), expected)


def _straight_back(rear_y: float, theta1: float, steps: int = 8, x_rear0: float = 0.35) -> torch.Tensor:
    """``[steps+1, 4]`` a truck backing in a straight line (θ0 = θ1) whose rear crosses x = 0."""
    rows = []
    for t in range(steps + 1):
        rear_x = x_rear0 - 0.1 * t * math.cos(theta1)
        y = rear_y - 0.1 * t * math.sin(theta1)
        rows.append([rear_x + 4 * math.cos(theta1), y + 4 * math.sin(theta1), theta1, theta1])
    return torch.tensor(rows)


def test_truck_cost_judges_the_arrival_where_the_rear_crosses_the_wall():
    cost = TruckDockingCost()
    actions = torch.zeros(3, 8, 1)
    square = _straight_back(0.0, 0.0)
    askew = _straight_back(0.0, math.radians(20))
    off = _straight_back(3.0, 0.0)
    values = cost(torch.stack((square, askew, off)), actions)
    assert values[0] < values[1] and values[0] < values[2]
    # The states past the wall do not count: a square arrival costs the same whatever follows it.
    later = square.clone()
    later[-1, 1] += 5.0
    assert torch.allclose(cost(later[None], actions[:1]), values[:1])


def test_truck_cost_far_out_prefers_the_guide_heading():
    cost = TruckDockingCost()
    # The rear at (16, 0): backing straight at the dock is on the guide; turned 90° is not.
    on_guide = torch.tensor([[[20.0, 0.0, 0.0, 0.0], [19.9, 0.0, 0.0, 0.0]]])
    across = torch.tensor([[[16.0, 4.0, math.pi / 2, math.pi / 2], [16.0, 3.9, math.pi / 2, math.pi / 2]]])
    actions = torch.zeros(1, 1, 1)
    assert cost(on_guide, actions) < cost(across, actions)


def test_fold_tracking_settles_the_fold_on_its_reference():
    kinematics = TruckKinematics()
    tracking = FoldTracking(kinematics, rate=0.2)
    state = torch.tensor([[20.0, 0.0, 0.2, 0.0]], dtype=torch.float64)
    reference = torch.tensor([[-0.6]], dtype=torch.float64)
    for _ in range(40):
        assert abs(float(tracking.steering(state, reference))) <= MAX_STEER
        state = tracking.step(state, reference)
    assert abs(float(state[0, 2] - state[0, 3]) - (-0.6)) < 0.01


def test_mpc_over_fold_references_docks_from_off_the_dock_line():
    tracking = FoldTracking(TruckKinematics())
    planner = GradientMPC(
        HeldAction(tracking, 10),
        TruckDockingCost(),
        horizon=12,
        action_low=-1.1,
        action_high=1.1,
        iterations=3,
    )
    env = TruckBackerUpperEnv()
    env.reset(options={"state": (14.0, 3.0, math.radians(-10), math.radians(-5))})
    done, info = False, {}
    while not done:
        fold_ref = planner.plan(torch.as_tensor(env.state, dtype=torch.float32))
        for _ in range(10):
            state = torch.as_tensor(env.state).unsqueeze(0)
            steering = tracking.steering(state, fold_ref.double().unsqueeze(0))[0]
            _, _, terminated, truncated, info = env.step(steering.numpy())
            done = terminated or truncated
            if done:
                break
    assert info["is_success"], info


def test_certainly_undockable_catches_a_rear_backing_into_the_far_wall_only():
    # θ1 = π: the cab is towards the dock and the rear (x + 4) backs straight at the far wall.
    starts = torch.tensor(
        [[35.8, 0.0, math.pi, math.pi], [35.8, 0.0, 0.0, 0.0], [20.0, 0.0, math.pi, math.pi]],
        dtype=torch.float64,
    )
    assert certainly_undockable(starts).tolist() == [True, False, False]


def _held_steering_docks(starts: torch.Tensor, steering: torch.Tensor, repeat: int) -> torch.Tensor:
    """``[B]`` bool: steering angles ``[B, T, 1]``, each held ``repeat`` steps, dock (the env's rules)."""
    calls = iter(range(1000))

    def policy(state: torch.Tensor) -> torch.Tensor:
        return steering[:, min(next(calls) // repeat, steering.shape[1] - 1)]

    return rollout(policy, starts).docked


def test_no_steering_docks_a_start_proved_undockable():
    starts = sample_starts(20_000, torch.Generator().manual_seed(0))
    doomed = starts[certainly_undockable(starts)][:50]
    assert len(doomed) > 10
    generator = torch.Generator().manual_seed(1)
    for _ in range(4):  # random steering and its bang-bang version, in 20-step blocks
        uniform = torch.rand(len(doomed), 50, 1, generator=generator, dtype=torch.float64)
        steering = MAX_STEER * (2 * uniform - 1)
        assert not bool(_held_steering_docks(doomed, steering, 20).any())
        assert not bool(_held_steering_docks(doomed, steering.sign() * MAX_STEER, 20).any())


def test_dockable_search_docks_easy_starts_and_not_a_doomed_one():
    starts = torch.tensor(
        [[14.0, 2.0, 0.2, 0.1], [13.0, -2.0, -0.3, -0.2], [35.8, 0.0, math.pi, math.pi]], dtype=torch.float64
    )
    search = DockableSearch(horizons=(10,), restarts=2, iterations=2, max_steps=200)
    assert dockable(starts, search).tolist() == [True, True, False]


def test_batched_mpc_runs_dock_like_the_planner_class():
    # The start and settings of test_mpc_over_fold_references_docks_from_off_the_dock_line, in a batch.
    start = torch.tensor([[14.0, 3.0, math.radians(-10), math.radians(-5)]], dtype=torch.float64)
    search = DockableSearch(horizons=(12,), repeat=10, restarts=1, iterations=3, max_steps=400)
    assert mpc_runs(start, 12, search).tolist() == [[True]]


def test_constant_candidates_turn_a_truck_round_that_the_warm_start_alone_backs_out_of_the_yard():
    # The trailer's rear 4 units from the far wall, backing straight at it: the dock is behind a U-turn.
    start = torch.tensor([[33.8, -4.669, 2.9, 3.202]], dtype=torch.float64)
    search = DockableSearch(horizons=(12,), restarts=1, iterations=3, max_fold=1.5, max_steps=600)
    assert mpc_runs(start, 12, search).tolist() == [[False]]
    turning = replace(search, candidates=4, candidate_plans="constant")
    assert mpc_runs(start, 12, turning).tolist() == [[True]]
