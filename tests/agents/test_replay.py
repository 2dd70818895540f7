"""Replay buffer: wrap-around, uniform sampling, episode ends, vector envs, n-step returns."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.replay import PrioritizedReplayBuffer, ReplayBuffer
from core.errors import UserError

OBS = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
ACTIONS = gym.spaces.Discrete(3)


def add_step(buffer, obs, action, reward, terminated, truncated, next_obs):
    """One step of a single env."""
    buffer.add(
        np.array([[obs, -obs]], dtype=np.float32),
        np.array([action]),
        np.array([reward], dtype=np.float32),
        np.array([terminated]),
        np.array([truncated]),
        np.array([[next_obs, -next_obs]], dtype=np.float32),
    )


def pairs(batch):
    return {(float(o[0]), float(n[0])) for o, n in zip(batch.obs, batch.next_obs, strict=True)}


def triples(batch):
    """(obs, next obs, terminated) of every sampled transition, as a set."""
    columns = (batch.obs[:, 0], batch.next_obs[:, 0], batch.terminated)
    return {tuple(float(v) for v in row) for row in zip(*columns, strict=True)}


def test_wrap_around_keeps_the_newest_transitions_and_samples_them_uniformly():
    buffer = ReplayBuffer(5, OBS, ACTIONS, seed=0)
    assert not buffer.can_sample
    for t in range(8):  # one long episode: obs t, action t % 3, reward t, next obs t + 1
        add_step(buffer, t, t % 3, t, False, False, t + 1)
    # Slots hold obs 3..7; obs 7's successor is not stored yet, so 3→4 … 6→7 are the sampleable ones.
    assert sorted(buffer.obs[:, 0, 0]) == [3, 4, 5, 6, 7]
    batch = buffer.sample(4000)
    assert pairs(batch) == {(3, 4), (4, 5), (5, 6), (6, 7)}
    np.testing.assert_array_equal(batch.actions, batch.obs[:, 0].astype(int) % 3)
    np.testing.assert_array_equal(batch.rewards, batch.obs[:, 0])
    np.testing.assert_array_equal(batch.discounts, np.float32(0.99))
    assert batch.obs.dtype == np.float32 and batch.actions.dtype == np.int64
    # Uniform: chi-square with 3 degrees of freedom stays far below its 0.1% point (16.3).
    counts = np.bincount(batch.obs[:, 0].astype(int))[3:]
    expected = len(batch) / 4
    assert ((counts - expected) ** 2 / expected).sum() < 16.3


def test_termination_and_truncation_keep_the_real_final_observation():
    buffer = ReplayBuffer(20, OBS, ACTIONS, seed=0)
    add_step(buffer, 0, 0, 1.0, False, False, 1)
    add_step(buffer, 1, 0, 1.0, True, False, 2)  # terminated: final obs 2, then reset to 10
    add_step(buffer, 10, 0, 1.0, False, True, 11)  # truncated: final obs 11, then reset to 20
    add_step(buffer, 20, 0, 1.0, False, False, 21)
    assert len(buffer) == 4
    batch = buffer.sample(2000)
    got = triples(batch)
    # The final observations are never the start of a transition; truncation bootstraps (terminated 0).
    assert got == {(0, 1, 0.0), (1, 2, 1.0), (10, 11, 0.0)}


def test_vector_envs_keep_their_trajectories_apart():
    rng = np.random.default_rng(1)
    n_envs, steps = 3, 200
    buffer = ReplayBuffer(3 * 40, OBS, ACTIONS, n_envs=n_envs, seed=0)
    counter = 0
    obs = np.arange(n_envs, dtype=np.float32)
    truth = set()
    for _ in range(steps):
        counter += n_envs
        next_obs = counter + np.arange(n_envs, dtype=np.float32)  # every observation is a fresh number
        terminated = rng.random(n_envs) < 0.1
        truncated = ~terminated & (rng.random(n_envs) < 0.1)
        buffer.add(
            np.stack([obs, -obs], 1),
            rng.integers(3, size=n_envs),
            obs,
            terminated,
            truncated,
            np.stack([next_obs, -next_obs], 1),
        )
        truth |= {(float(o), float(n), float(t)) for o, n, t in zip(obs, next_obs, terminated, strict=True)}
        counter += n_envs
        reset = counter + np.arange(n_envs, dtype=np.float32)
        obs = np.where(terminated | truncated, reset, next_obs)
    batch = buffer.sample(5000)
    got = triples(batch)
    assert got <= truth
    np.testing.assert_array_equal(batch.rewards, batch.obs[:, 0])
    # Each env keeps ~40 slots; the newest 30 steps of every env survive (the ends took a few slots).
    assert len(got) > 3 * 30


def test_n_step_returns_stop_at_the_end_of_an_episode():
    buffer = ReplayBuffer(20, OBS, ACTIONS, n_step=3, gamma=0.5, seed=0)
    rewards = [1.0, 2.0, 4.0, 8.0]
    for t, r in enumerate(rewards):  # terminates after 4 steps: obs 0..3, final obs 4
        add_step(buffer, t, 0, r, t == 3, False, t + 1)
    for t in range(2):  # a truncated episode of 2 steps: obs 10, 11, final obs 12
        add_step(buffer, 10 + t, 0, 1.0, False, t == 1, 11 + t)
    add_step(buffer, 20, 0, 1.0, False, False, 21)
    batch = buffer.sample(3000)
    columns = (batch.obs[:, 0], batch.next_obs[:, 0], batch.rewards, batch.discounts, batch.terminated)
    got = {tuple(float(v) for v in row) for row in zip(*columns, strict=True)}
    assert got == {
        (0, 3, 1 + 0.5 * 2 + 0.25 * 4, 0.125, 0.0),
        (1, 4, 2 + 0.5 * 4 + 0.25 * 8, 0.125, 1.0),
        (2, 4, 4 + 0.5 * 8, 0.25, 1.0),
        (3, 4, 8, 0.5, 1.0),
        (10, 12, 1 + 0.5, 0.25, 0.0),  # truncated: bootstraps from the final obs after 2 steps
        (11, 12, 1, 0.5, 0.0),
    }  # obs 20 waits: its 3-step window is not complete


def test_image_observations_stay_uint8():
    space = gym.spaces.Box(0, 255, shape=(8, 8, 3), dtype=np.uint8)
    buffer = ReplayBuffer(10, space, ACTIONS, seed=0)
    frames = np.random.default_rng(0).integers(0, 256, size=(4, 1, 8, 8, 3), dtype=np.uint8)
    for t in range(3):
        buffer.add(
            frames[t], np.array([1]), np.array([0.0]), np.array([False]), np.array([False]), frames[t + 1]
        )
    assert buffer.obs.dtype == np.uint8 and buffer.obs.nbytes == 10 * 8 * 8 * 3
    batch = buffer.sample(50)
    assert batch.obs.dtype == np.uint8
    for o, n in zip(batch.obs, batch.next_obs, strict=True):
        t = next(t for t in range(2) if (frames[t, 0] == o).all())
        np.testing.assert_array_equal(n, frames[t + 1, 0])


def test_same_seed_same_samples_and_bad_sizes_refused():
    def filled(seed):
        buffer = ReplayBuffer(50, OBS, ACTIONS, seed=seed)
        for t in range(30):
            add_step(buffer, t, 0, 0.0, t % 7 == 6, False, t + 1)
        return buffer.sample(64).obs

    np.testing.assert_array_equal(filled(3), filled(3))
    assert not np.array_equal(filled(3), filled(4))
    with pytest.raises(UserError, match="too small"):
        ReplayBuffer(4, OBS, ACTIONS, n_envs=2)
    with pytest.raises(UserError, match="Box or Discrete"):
        ReplayBuffer(10, gym.spaces.MultiBinary(3), ACTIONS)


def test_prioritized_draws_in_proportion_to_priorities_with_importance_weights():
    buffer = PrioritizedReplayBuffer(16, OBS, ACTIONS, seed=0, alpha=1.0, eps=0.0)
    for t in range(5):  # obs 0..4; obs 4 waits for its successor
        add_step(buffer, t, 0, 0.0, False, False, t + 1)
    first = buffer.sample(400)
    assert set(first.obs[:, 0]) == {0, 1, 2, 3}  # new transitions all start at the same (max) priority
    np.testing.assert_array_equal(first.weights, 1.0)
    buffer.update_priorities(np.array([0, 1, 2, 3]), np.array([1.0, 2.0, 3.0, 4.0]))
    batch = buffer.sample(20_000, beta=0.5)
    counts = np.bincount(batch.obs[:, 0].astype(int), minlength=4)
    expected = len(batch) * np.array([1, 2, 3, 4]) / 10
    assert ((counts - expected) ** 2 / expected).sum() < 16.3  # chi-square, 3 dof, 0.1% point
    # w_i = (N P(i))^-β / max_j w_j: the lowest priority gets weight 1, the others (p_min / p_i)^β.
    np.testing.assert_allclose(batch.weights, (1.0 / (batch.obs[:, 0] + 1)) ** 0.5, rtol=1e-6)
    np.testing.assert_array_equal(batch.indices, batch.obs[:, 0].astype(int))


def test_prioritized_forgets_overwritten_slots_and_keeps_episode_ends():
    buffer = PrioritizedReplayBuffer(6, OBS, ACTIONS, seed=0, n_step=2, gamma=0.5)
    for t in range(9):  # one episode ending (terminated) at obs 8 -> final obs 9
        add_step(buffer, t, 0, 1.0, t == 8, False, t + 1)
    # Six slots hold obs 4..8 and the final obs 9; every transition is complete and sampleable.
    batch = buffer.sample(2000)
    got = {
        (float(o[0]), float(n[0]), float(r), float(t))
        for o, n, r, t in zip(batch.obs, batch.next_obs, batch.rewards, batch.terminated, strict=True)
    }
    assert got == {(4, 6, 1.5, 0), (5, 7, 1.5, 0), (6, 8, 1.5, 0), (7, 9, 1.5, 1), (8, 9, 1.0, 1)}
    assert buffer.tree[1] == pytest.approx(5 * buffer.max_priority**buffer.alpha)


@pytest.mark.parametrize("prioritized", [False, True])
def test_state_round_trip_and_cut_episodes(prioritized):
    make = PrioritizedReplayBuffer if prioritized else ReplayBuffer
    buffer = make(8, OBS, ACTIONS, n_step=2, gamma=0.5, seed=0)
    for t in range(5):
        add_step(buffer, t, t % 3, 1.0, False, False, t + 1)
    copy = make(8, OBS, ACTIONS, n_step=2, gamma=0.5, seed=0)
    copy.load_state_dict(buffer.state_dict())
    for name in copy._state_arrays + copy._state_scalars:
        np.testing.assert_array_equal(getattr(copy, name), getattr(buffer, name))
    assert pairs(copy.sample(64)) == pairs(buffer.sample(64)) == {(0.0, 2.0), (1.0, 3.0), (2.0, 4.0)}

    copy.cut_episodes(np.array([[5.0, -5.0]], dtype=np.float32))  # the episode stops at obs 5
    # Now 3 -> 5 and the one-step 4 -> 5 (cut by the time limit) are sampleable too.
    assert pairs(copy.sample(256)) == {(0.0, 2.0), (1.0, 3.0), (2.0, 4.0), (3.0, 5.0), (4.0, 5.0)}
    assert copy.sample(256).terminated.sum() == 0  # truncated, not terminated: they bootstrap

    with pytest.raises(UserError, match="saved replay buffer obs has shape"):
        make(16, OBS, ACTIONS, n_step=2).load_state_dict(buffer.state_dict())
