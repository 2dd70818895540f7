"""Open-loop rollout error: zero for the true model, growing with the horizon for a drifting one."""

import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.truck.kinematics import TruckKinematics
from worldmodels.evaluation import errors_against, open_loop_errors


class Drift:
    """s' = s + a + bias: the true model when bias = 0."""

    state_dim, action_dim = 2, 2

    def __init__(self, bias: float) -> None:
        self.bias = bias

    def step(self, state, action):
        return state + action + self.bias


def test_true_model_has_no_error_and_a_biased_one_drifts_linearly():
    gen = torch.Generator().manual_seed(0)
    start, actions = torch.randn(5, 2, generator=gen), torch.randn(5, 7, 2, generator=gen)
    assert np.allclose(errors_against(Drift(0.0), Drift(0.0), start, actions), 0.0, atol=1e-6)
    errors = errors_against(Drift(0.1), Drift(0.0), start, actions)
    # The drift adds (0.1, 0.1) every step: after t steps the error is 0.1 t sqrt(2).
    np.testing.assert_allclose(errors, 0.1 * np.sqrt(2) * np.arange(1, 8), rtol=1e-5)
    only_x = errors_against(Drift(0.1), Drift(0.0), start, actions, dims=[0])
    np.testing.assert_allclose(only_x, 0.1 * np.arange(1, 8), rtol=1e-5)


def test_against_the_truck_kinematics_and_recorded_trajectories():
    truck = TruckKinematics()
    start = torch.tensor([[20.0, 0.0, 0.0, 0.0], [25.0, 3.0, 0.3, 0.2]], dtype=torch.float64)
    actions = torch.full((2, 10, 1), 0.2, dtype=torch.float64)
    assert errors_against(truck, truck, start, actions, dims=[0, 1]).max() < 1e-4
    states = np.zeros((3, 5, 2), dtype=np.float32)
    with pytest.raises(UserError, match="states"):
        open_loop_errors(Drift(0.0), states, np.zeros((3, 5, 2), dtype=np.float32))
