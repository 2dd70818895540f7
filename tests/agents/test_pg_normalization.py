"""Observation normalisation and reward scaling of the on-policy agents: the running statistics, their use
in rollouts, frozen statistics at prediction, and saving them with the agent."""

from __future__ import annotations

import numpy as np
import pytest

from agents.pg import A2C
from agents.pg.normalization import Normalizer, RunningMeanStd


def test_running_statistics_merge_batches_exactly():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 2)) for n in (1, 7, 50)]
    rms = RunningMeanStd((2,))
    for batch in batches:
        rms.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean, everything.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(rms.var, everything.var(axis=0), rtol=1e-6)


def test_rewards_are_divided_by_the_spread_of_the_discounted_return():
    norm = Normalizer((1,), n_envs=1, obs=False, reward=True, gamma=0.5, clip=10.0)
    scaled = [
        norm.rewards(np.array([r]), np.array([d]))[0] for r, d in [(1.0, False), (2.0, True), (4.0, False)]
    ]
    # discounted returns: 1, .5·1 + 2 = 2.5, then 4 (reset after the episode's end)
    returns = np.array([1.0, 2.5, 4.0])
    np.testing.assert_allclose(scaled[2], 4.0 / np.sqrt(returns.var() + 1e-8), rtol=1e-5)
    np.testing.assert_allclose(scaled[1], 2.0 / np.sqrt(returns[:2].var()), rtol=1e-5)
    assert scaled[0] == 10.0  # one return has no spread yet: 1 / √1e-8, clipped to ±10


def test_rollouts_see_normalised_observations_and_predict_freezes_the_statistics(tmp_path):
    agent = A2C("Pendulum-v1", n_envs=2, n_steps=50, normalize_obs=True, normalize_reward=True, seed=1)
    agent.learn(400, progress_bar=False)
    stats = agent.normalizer.obs_rms
    assert stats.count == pytest.approx(400)
    # the buffer holds the last rollout normalised with statistics that had already seen it: near N(0, 1)
    assert np.abs(agent.buffer.obs).max() <= 10.0
    assert np.abs(agent.buffer.obs.reshape(-1, 3).mean(axis=0)).max() < 1.0
    mean = stats.mean.copy()
    obs = np.stack([agent.env.observation_space.sample() for _ in range(8)])
    actions = agent.predict(obs)[0]
    np.testing.assert_array_equal(stats.mean, mean)  # frozen at prediction
    agent.save(tmp_path / "a2c.pt")
    loaded = A2C.load(tmp_path / "a2c.pt")
    np.testing.assert_array_equal(loaded.normalizer.obs_rms.mean, mean)
    np.testing.assert_array_equal(loaded.predict(obs)[0], actions)
    # the statistics change the actions: without them the same networks act differently
    loaded.normalizer.obs = False
    assert not np.array_equal(loaded.predict(obs)[0], actions)
