"""cVAE forward model: the Dynamics contract, seeded sampling, and both futures of the fork where a
deterministic model predicts their average."""

import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.fork import ForkEnv
from planners.rollout import Dynamics
from supervised.trainer import Trainer, TrainerConfig
from worldmodels.batches import ArrayBatches
from worldmodels.cvae import CVAEConfig, CVAEDynamics
from worldmodels.transition_model import transition_loss


def test_contract_sampling_and_zero_latent():
    model = CVAEDynamics(CVAEConfig(4, 2, hidden=(16,)), seed=3)
    assert isinstance(model, Dynamics)
    state, action = torch.zeros(5, 4), torch.zeros(5, 2)
    first = model.step(state, action)
    assert first.shape == (5, 4)
    assert not torch.allclose(first[0], first[1])  # one latent per row
    again = CVAEDynamics(CVAEConfig(4, 2, hidden=(16,)), seed=3)
    again.load_state_dict(model.state_dict())
    torch.testing.assert_close(again.step(state, action), first)  # same seed, same draws
    model.z_mode = "zero"
    torch.testing.assert_close(model.step(state, action)[0], model.step(state, action)[1])
    with pytest.raises(UserError, match="z_mode"):
        model.z_mode = "mean"
    with pytest.raises(UserError, match="z_dropout"):
        CVAEConfig(4, 2, z_dropout=1.5)


def _fork_transitions(episodes=300):
    env, rng = ForkEnv(), np.random.default_rng(0)
    rows = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            action = rng.uniform(-1, 1, 2).astype(np.float32)
            nxt, _, terminated, truncated, _ = env.step(action)
            rows.append((obs, action, nxt))
            obs, done = nxt, terminated or truncated
    return [np.array(column) for column in zip(*rows, strict=True)]


def _train(z_dropout, data):
    torch.manual_seed(0)
    model = CVAEDynamics(CVAEConfig(4, 2, hidden=(64, 64), beta=0.1, z_dropout=z_dropout), seed=0)
    model.fit_normalisation(*data)
    cfg = TrainerConfig(epochs=25, batch_size=128, learning_rate=3e-3, progress_bar=False)
    Trainer(model, transition_loss, cfg).fit(ArrayBatches(*data))
    return model


def test_samples_cover_both_sides_of_the_fork_where_mse_predicts_between():
    data = _fork_transitions()
    fork_state = torch.tensor([[1.0, -2.0, 0.0, -0.6]]).repeat(200, 1)
    still = torch.zeros(200, 2)
    stochastic = _train(0.5, data)
    deterministic = _train(1.0, data)  # the latent always dropped: plain MSE regression
    deterministic.z_mode = "zero"
    with torch.no_grad():
        other_x = stochastic.step(fork_state, still)[:, 2]
        average = deterministic.step(fork_state[:1], still[:1])[0, 2]
    # The other agent goes to x = -1 or x = +1; the samples reach towards both, the MSE model sits between.
    assert (other_x < -0.5).float().mean() > 0.05 and (other_x > 0.5).float().mean() > 0.05
    assert abs(float(average)) < 0.3
