"""Registration: findable by gym.make without importing us first, and safe to import twice."""

import importlib
import subprocess
import sys
import warnings

import gymnasium as gym

import envs

FRESH_MAKE = """
import gymnasium as gym
env = gym.make("envs:rlsuite/GridWorld-v0", layout="bridge", noise=0.0)
obs, info = env.reset(seed=0)
print(type(env.unwrapped).__name__, env.spec.max_episode_steps, info["cell"])
"""


def test_gym_make_with_module_prefix_in_a_fresh_interpreter(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", FRESH_MAKE], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "GridWorldEnv 200 (1, 1)"


def test_reimport_does_not_register_twice():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(envs)
    assert gym.spec("rlsuite/GridWorld-v0").entry_point == "envs.gridworld.env:GridWorldEnv"


def test_time_limit_truncates_after_200_steps():
    env = gym.make("rlsuite/GridWorld-v0", layout="open-9x9", noise=0.0)
    env.reset(seed=0)
    for _ in range(199):
        assert env.step(3)[3] is False  # west into the border, forever
    _, _, terminated, truncated, _ = env.step(3)
    assert truncated and not terminated


def test_package_exports():
    assert {"GridWorldEnv", "TabularMDP", "get_layout"} <= set(envs.__all__)
