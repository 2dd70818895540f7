"""Offline datasets from a Gymnasium env driven by a behaviour policy: seeded, consecutive, optioned."""

import numpy as np
import pytest

from core.errors import UserError
from envs.car.env import KinematicCarEnv
from worldmodels.transitions import collect_from_env


def _driver(obs, rng):
    return np.array([rng.uniform(-0.5, 0.5), 1.0])


def _heading(rng):
    return {"state": (0.0, 0.0, rng.uniform(-3, 3), 0.0)}


def test_env_transitions_are_seeded_consecutive_and_honour_reset_options():
    env = KinematicCarEnv(max_steps=10)
    data = collect_from_env(env, _driver, 3, seed=5, reset_options=_heading)
    assert len(data) == 30 and data.states.shape == (30, 7) and data.actions.shape == (30, 2)
    np.testing.assert_array_equal(
        data.next_states[:-1].numpy()[[i for i in range(29) if i % 10 != 9]],
        data.states[1:].numpy()[[i for i in range(29) if i % 10 != 9]],
    )
    starts = data.states[::10].numpy()
    assert (starts[:, :2] == 0).all() and len(set(np.round(starts[:, 2], 4))) == 3  # three headings
    again = collect_from_env(KinematicCarEnv(max_steps=10), _driver, 3, seed=5, reset_options=_heading)
    np.testing.assert_array_equal(again.actions.numpy(), data.actions.numpy())
    with pytest.raises(UserError, match="episodes"):
        collect_from_env(env, _driver, 0, seed=0)
