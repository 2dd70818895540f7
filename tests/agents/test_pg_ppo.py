"""PPO: the clipped surrogate and the clipped value loss against hand computations, KL early stopping,
continuous actions, save/load and learning on CartPole."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.pg import PPO
from core.errors import UserError
from rlsuite.registry import get_algorithm

# RL-Zoo's CartPole-v1 settings for PPO
ZOO_CARTPOLE = dict(
    n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, learning_rate=1e-3
)


def uniform_ppo(**options) -> PPO:
    """PPO on CartPole with no hidden layers: at obs = 0, π = softmax(bias) = (½, ½) and V = bias = 1."""
    agent = PPO("CartPole-v1", net_arch=(), n_envs=1, n_steps=4, batch_size=4, **options)
    with torch.no_grad():
        agent.policy.logits.net[0].bias.zero_()
        agent.value.net[0].bias.fill_(1.0)
    return agent


def test_clipped_surrogate_matches_a_hand_computation():
    agent = uniform_ppo(normalize_advantage=False, clip_range=0.2)
    obs, actions = torch.zeros(4, 4), torch.zeros(4, dtype=torch.int64)
    # π(a=0) = ½, so the ratios ρ = ½ / π_old are 2, 0.625, 1 and 5/6
    old_log_probs = torch.log(torch.tensor([0.25, 0.8, 0.5, 0.6]))
    advantages = torch.tensor([1.0, -1.0, 2.0, -3.0])
    terms = agent.losses(obs, actions, old_log_probs, torch.ones(4), advantages, torch.ones(4))
    # min(ρA, clip(ρ, .8, 1.2)A): min(2, 1.2) = 1.2; min(−.625, −.8) = −.8; 2; min(−2.5, −2.5) = −2.5
    assert terms["policy_loss"].item() == pytest.approx(-(1.2 - 0.8 + 2.0 - 2.5) / 4, rel=1e-6)
    assert terms["clip_fraction"].item() == pytest.approx(0.5)
    # the two clipped samples give no gradient; the others give −¼ Σ A ρ (onehot(a) − π) = ±(1/16)
    terms["policy_loss"].backward()
    grad = agent.policy.logits.net[0].bias.grad
    np.testing.assert_allclose(grad.numpy(), [0.0625, -0.0625], rtol=1e-5)


def test_clipped_value_loss_matches_a_hand_computation():
    agent = uniform_ppo(clip_range_vf=0.5)
    old_values, targets = torch.tensor([0.0, 0.9, 2.0]), torch.tensor([2.0, 0.0, 0.5])
    terms = agent.losses(
        torch.zeros(3, 4),
        torch.zeros(3, dtype=torch.int64),
        torch.zeros(3),
        old_values,
        torch.ones(3),
        targets,
    )
    # V = 1; clipped V = old + clamp(1 − old, ±.5) = [.5, 1, 1.5]; max of the squared errors: 2.25, 1, 1
    assert terms["value_loss"].item() == pytest.approx((2.25 + 1.0 + 1.0) / 3)
    unclipped = uniform_ppo().losses(
        torch.zeros(3, 4),
        torch.zeros(3, dtype=torch.int64),
        torch.zeros(3),
        old_values,
        torch.ones(3),
        targets,
    )
    assert unclipped["value_loss"].item() == pytest.approx((1.0 + 1.0 + 0.25) / 3)


def test_kl_early_stop_halts_after_the_first_step():
    agent = PPO("CartPole-v1", n_envs=2, n_steps=32, batch_size=16, n_epochs=4, target_kl=1e-12)
    agent.learn(64, progress_bar=False)
    # the first minibatch has ρ = 1 (KL 0) and is stepped on; after it the KL exceeds the target
    steps = {int(state["step"]) for state in agent.optimizer.state.values()}
    assert steps == {1}
    agent = PPO("CartPole-v1", n_envs=2, n_steps=32, batch_size=16, n_epochs=4)
    agent.learn(64, progress_bar=False)
    assert {int(state["step"]) for state in agent.optimizer.state.values()} == {4 * 4}


def test_linear_schedule_lowers_the_learning_rate_and_the_clip_range():
    agent = PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, linear_schedule=True)
    agent.learn(128, progress_bar=False)
    # the last update saw 1 − 128/128 of the call left
    assert agent.optimizer.param_groups[0]["lr"] == 0.0 and agent._schedule() == 0.0
    agent = PPO("CartPole-v1", n_envs=2, n_steps=16, batch_size=32, linear_schedule=True)
    agent.learn(64, progress_bar=False)
    agent._set_progress(0.25)
    assert agent.optimizer.param_groups[0]["lr"] == pytest.approx(0.25 * 3e-4)


def test_a_resumed_run_goes_on_with_the_linear_schedule_where_it_stopped(tmp_path):
    """``rlsuite train --resume`` loads the agent and learns the remaining steps: the schedule is measured
    over the run's steps, so the first update after loading uses an uninterrupted run's step size."""
    settings = dict(n_envs=2, n_steps=16, batch_size=32, linear_schedule=True)
    # an interrupted 128-step run: 64 steps, saved, loaded, the remaining 64
    interrupted = PPO("CartPole-v1", **settings)
    interrupted.learn(128, progress_bar=False, callback=lambda agent: agent.num_timesteps < 64)
    interrupted.save(tmp_path / "ppo.pt")
    resumed = PPO.load(tmp_path / "ppo.pt")
    resumed.learn(128 - resumed.num_timesteps, progress_bar=False, callback=lambda agent: False)
    assert resumed.num_timesteps == 96
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(3e-4 * (1 - 96 / 128))


def test_bad_ppo_hyperparameters_are_user_errors():
    with pytest.raises(UserError, match="batch_size"):
        PPO("CartPole-v1", n_envs=2, n_steps=8, batch_size=64)
    with pytest.raises(UserError, match="clip_range"):
        PPO("CartPole-v1", clip_range=0.0)


def test_ppo_runs_on_continuous_actions_and_round_trips(tmp_path):
    agent = PPO("Pendulum-v1", n_envs=2, n_steps=100, batch_size=50, n_epochs=2, normalize_obs=True)
    agent.learn(400, progress_bar=False)
    assert len(agent.episode_returns) == 2
    agent.save(tmp_path / "ppo.pt")
    loaded = PPO.load(tmp_path / "ppo.pt")
    obs = np.stack([agent.env.observation_space.sample() for _ in range(8)])
    np.testing.assert_array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    assert all(agent.env.action_space.contains(a) for a in agent.predict(obs)[0])


def test_ppo_return_rises_on_cartpole():
    agent = PPO("CartPole-v1", seed=0, **ZOO_CARTPOLE).learn(8_192, progress_bar=False)
    returns = agent.episode_returns
    assert np.mean(returns[-10:]) > 3 * np.mean(returns[:10])
    assert math.isfinite(returns[-1])


def test_ppo_is_registered():
    assert get_algorithm("ppo", "agent").load() is PPO
