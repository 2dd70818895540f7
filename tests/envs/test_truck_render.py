"""Truck pictures: an RGB frame of the right shape, and a (dummy-driver) window."""

import numpy as np

from envs.truck.env import TruckBackerUpperEnv
from envs.truck.render import DOCK, TRAILER


def test_rgb_array_frame():
    env = TruckBackerUpperEnv(render_mode="rgb_array")
    env.reset(options={"state": (20.0, 0.0, 0.0, 0.0)})
    env.step(np.array([0.5], dtype=np.float32))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert DOCK in colours and TRAILER in colours
    env.close()


def test_human_mode_draws_into_a_window():
    env = TruckBackerUpperEnv(render_mode="human")
    env.reset(seed=0)
    assert env.step(np.zeros(1, dtype=np.float32))[0].shape == (6,)
    assert env.render() is None
    env.close()
