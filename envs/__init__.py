"""Environments: the grid world (with its exact tabular model) and friends, registered with Gymnasium.

Importing this package registers ``rlsuite/GridWorld-v0``, ``rlsuite/TruckBackerUpper-v0`` and
``rlsuite/KinematicCar-v0``;
``gym.make("envs:rlsuite/GridWorld-v0")`` imports it for you.
"""

from gymnasium.envs.registration import register, registry

from envs.gridworld.env import GridWorldEnv
from envs.gridworld.layout import get_layout
from envs.mdp import TabularMDP

__all__ = ["GridWorldEnv", "TabularMDP", "get_layout"]

GRIDWORLD_ID = "rlsuite/GridWorld-v0"

# Guarded so that re-importing (reloads, several entry points) does not trigger a re-registration warning.
if GRIDWORLD_ID not in registry:
    register(id=GRIDWORLD_ID, entry_point="envs.gridworld.env:GridWorldEnv", max_episode_steps=200)

TRUCK_ID = "rlsuite/TruckBackerUpper-v0"

# Registered by name only, so importing envs does not import torch. No max_episode_steps: the env
# truncates itself (1000 steps by default) so that its info can say "time_limit".
if TRUCK_ID not in registry:
    register(id=TRUCK_ID, entry_point="envs.truck.env:TruckBackerUpperEnv")

CAR_ID = "rlsuite/KinematicCar-v0"

# By name only (no torch at import); the env truncates itself after 150 steps (15 s).
if CAR_ID not in registry:
    register(id=CAR_ID, entry_point="envs.car.env:KinematicCarEnv")

FORK_ID = "rlsuite/Fork-v0"

# A multimodal transition for stochastic world models: another agent forks left or right at random.
if FORK_ID not in registry:
    register(id=FORK_ID, entry_point="envs.fork:ForkEnv")
