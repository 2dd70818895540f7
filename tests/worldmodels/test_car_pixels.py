"""Car pictures for the JEPA: the cropped view, the nose that tells front from back, and data that keeps
the car in the picture under held actions."""

import numpy as np
import pytest

from core.errors import UserError
from envs.car.env import KinematicCarEnv
from worldmodels.car_pixels import CarPictures, collect_car_sequences

VIEW = ((0.0, 4.0), (-2.0, 2.0))


def test_view_crop_and_nose():
    env = KinematicCarEnv(obstacles=0, max_steps=10)
    pictures = CarPictures(env, max_side=40, view=VIEW)
    assert pictures.frame_shape == (40, 40, 6)  # 4 m at 50 pixels a metre, shrunk 5 times
    facing_right = pictures.frame(np.array([1.5, 0.0, 0.0, 0.0]), 0.0)
    facing_left = pictures.frame(np.array([2.75, 0.0, np.pi, 0.0]), 0.0)  # the same body, turned round
    assert np.abs(facing_right.astype(int) - facing_left.astype(int)).max() > 60  # the nose shows
    empty = pictures.frame(np.array([8.0, 0.0, 0.0, 0.0]), 0.0)  # outside the view
    assert (empty == empty[0, 0]).all()
    assert pictures.inside([1.0, 1.0]) and not pictures.inside([1.0, 1.0], margin=1.5)
    with pytest.raises(UserError, match="inside the picture"):
        CarPictures(env, view=((-5.0, 1.0), (0.0, 1.0)))


def test_sequences_hold_actions_and_stay_in_the_picture():
    env = KinematicCarEnv(obstacles=0, max_steps=10_000)
    pictures = CarPictures(env, max_side=20, view=VIEW)
    data = collect_car_sequences(env, pictures, 6, 3, seed=0, repeat=3)
    assert data["frames"].shape == (6, 4, 20, 20, 6) and data["actions"].shape == (6, 3, 2)
    assert all(pictures.inside(state) for state in data["states"].reshape(-1, 4))
    # a model step is 3 env steps with the action held: replay one sequence through the env
    state = data["states"][0, 0]
    env.reset(options={"state": state, "target": (15.0, 15.0)})
    for action, expected in zip(data["actions"][0], data["states"][0, 1:], strict=True):
        for _ in range(3):
            env.step(action)
        np.testing.assert_allclose(env.state, expected, atol=1e-6)
