"""Gradient MPC docks the truck from near the dock, through the kinematics, with the truck's cost."""

import math

import torch

from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import MAX_STEER, TruckKinematics
from planners.gradient_mpc import GradientMPC
from planners.truck_cost import TruckDockingCost


def test_truck_cost_prefers_square_arrivals_on_the_dock():
    cost = TruckDockingCost()
    actions = torch.zeros(3, 1, 1)
    square = torch.tensor([[4.5, 0.0, 0.0, 0.0], [4.2, 0.0, 0.0, 0.0]])
    askew = torch.tensor([[4.5, 0.0, 0.3, 0.3], [4.2, 0.0, 0.3, 0.3]])
    off = torch.tensor([[4.5, 3.0, 0.0, 0.0], [4.2, 3.0, 0.0, 0.0]])
    values = cost(torch.stack((square, askew, off)), actions)
    assert values[0] < values[1] and values[0] < values[2]


def test_mpc_docks_from_a_truck_length_out():
    kinematics = TruckKinematics()
    planner = GradientMPC(
        kinematics, TruckDockingCost(), horizon=20, action_low=-MAX_STEER, action_high=MAX_STEER, iterations=3
    )
    env = TruckBackerUpperEnv()
    env.reset(options={"state": (8.5, 1.2, math.radians(8), math.radians(4))})
    done, info = False, {}
    while not done:
        action = planner.plan(torch.as_tensor(env.state, dtype=torch.float32))
        _, _, terminated, truncated, info = env.step(action.numpy())
        done = terminated or truncated
    assert info["is_success"], info
