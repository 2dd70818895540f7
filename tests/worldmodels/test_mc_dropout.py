"""MC dropout: the Dynamics contract, and more predictive variance off the data than on it."""

import numpy as np
import pytest
import torch

from core.errors import UserError
from planners.rollout import Dynamics
from supervised.trainer import Trainer, TrainerConfig
from worldmodels.batches import ArrayBatches
from worldmodels.mc_dropout import MCDropoutConfig, MCDropoutDynamics
from worldmodels.transition_model import transition_loss


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    states = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    actions = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    # s' = s + (a, sin(3 s_0)): smooth but nonlinear
    nxt = states + np.concatenate([actions, np.sin(3 * states[:, :1])], axis=1)
    return states, actions, nxt.astype(np.float32)


def test_contract_and_stochastic_samples():
    model = MCDropoutDynamics(MCDropoutConfig(2, 1, hidden=(32, 32), dropout=0.2, samples=8))
    assert isinstance(model, Dynamics)
    state, action = torch.zeros(4, 2), torch.zeros(4, 1)
    assert model.step(state, action).shape == (4, 2)
    torch.testing.assert_close(model.step(state, action), model.step(state, action))
    samples = model.predict_samples(state, action)
    assert samples.shape == (8, 4, 2) and samples.std(0).sum() > 0
    assert model.variance(state, action).shape == (4,)
    with pytest.raises(UserError, match="actions"):
        model.step(state, torch.zeros(4, 3))
    with pytest.raises(UserError, match="dropout"):
        MCDropoutConfig(2, 1, dropout=1.0)


def test_trained_model_is_more_uncertain_off_the_data():
    states, actions, nxt = _data()
    model = MCDropoutDynamics(MCDropoutConfig(2, 1, hidden=(64, 64), dropout=0.1))
    model.fit_normalisation(states, actions, nxt)
    history = Trainer(
        model,
        transition_loss,
        TrainerConfig(epochs=15, batch_size=64, learning_rate=3e-3, progress_bar=False),
    ).fit(ArrayBatches(states, actions, nxt))
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    torch.manual_seed(0)
    inside = model.variance(torch.tensor(states[:100]), torch.tensor(actions[:100]), samples=50)
    outside = model.variance(torch.tensor(states[:100]) * 4 + 3, torch.tensor(actions[:100]), samples=50)
    assert outside.mean() > 3 * inside.mean()


def test_step_with_uncertainty_gives_a_differentiable_variance():
    model = MCDropoutDynamics(MCDropoutConfig(2, 1, hidden=(32, 32), dropout=0.2, samples=8))
    model.fit_normalisation(*_data(100))
    state, action = torch.zeros(4, 2), torch.zeros(4, 1, requires_grad=True)
    following, uncertainty = model.step_with_uncertainty(state, action)
    assert following.shape == (4, 2) and uncertainty.shape == (4,) and (uncertainty > 0).all()
    uncertainty.sum().backward()
    assert action.grad is not None
