"""Batched starts, endings and rollouts agree with the env, one truck at a time."""

import math

import numpy as np
import torch

from envs.truck.batch import episode_status, rollout, sample_starts
from envs.truck.env import TruckBackerUpperEnv
from envs.truck.kinematics import TruckKinematics
from envs.truck.outcome import judge

KIN = TruckKinematics()


def test_sample_starts_follow_the_env_distribution_and_are_valid():
    starts = sample_starts(2000, torch.Generator().manual_seed(0))
    assert starts.shape == (2000, 4)
    assert KIN.in_yard(starts).all() and not KIN.is_jackknifed(starts).any()
    assert (starts[:, 0] >= 10).all() and (starts[:, 0] <= 40).all()
    offset = starts[:, 3] - starts[:, 2]
    assert (offset.abs() <= math.pi / 4).all()
    # Headings cover the whole circle.
    assert np.histogram(starts[:, 2].numpy(), bins=8, range=(0, 2 * math.pi))[0].min() > 150
    again = sample_starts(2000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(starts, again, rtol=0, atol=0)


def test_narrow_lessons_stay_in_their_ranges():
    starts = sample_starts(500, torch.Generator().manual_seed(1), (12, 16), (-2, 2), 0.2, 0.1)
    assert (starts[:, 0] >= 12).all() and (starts[:, 0] <= 16).all() and (starts[:, 1].abs() <= 2).all()
    assert (starts[:, 3].abs() <= 0.2).all() and ((starts[:, 2] - starts[:, 3]).abs() <= 0.1).all()


def test_episode_status_matches_the_env_judge():
    generator = torch.Generator().manual_seed(2)
    n = 3000
    # States all over (and beyond) the yard, some folded, some past the wall, some near the dock.
    states = torch.stack(
        (
            torch.rand(n, generator=generator, dtype=torch.float64) * 48 - 4,
            torch.rand(n, generator=generator, dtype=torch.float64) * 24 - 12,
            torch.rand(n, generator=generator, dtype=torch.float64) * 4 * math.pi - 2 * math.pi,
            torch.zeros(n, dtype=torch.float64),
        ),
        dim=-1,
    )
    states[:, 3] = states[:, 2] + (torch.rand(n, generator=generator, dtype=torch.float64) - 0.5) * 3.6
    near = states[: n // 3]
    near[:, 3] = (torch.rand(len(near), generator=generator, dtype=torch.float64) - 0.5) * 0.5
    near[:, 2] = near[:, 3] + (torch.rand(len(near), generator=generator, dtype=torch.float64) - 0.5) * 0.5
    near[:, 0] = (
        4 * near[:, 3].cos() + torch.rand(len(near), generator=generator, dtype=torch.float64) * 0.2 - 0.1
    )
    near[:, 1] = (
        4 * near[:, 3].sin() + torch.rand(len(near), generator=generator, dtype=torch.float64) * 5 - 1.5
    )
    for target in (0.0, 2.5):
        status = episode_status(KIN, states, target)
        outcomes = [judge(KIN, s[None], target).reason for s in states]
        assert status.done.tolist() == [r is not None for r in outcomes]
        assert status.docked.tolist() == [r == "docked" for r in outcomes]
        assert status.jackknife.tolist() == [r == "jackknife" for r in outcomes]
        assert status.at_wall.tolist() == [r in ("docked", "missed_dock") for r in outcomes]
        assert 30 < sum(status.docked.tolist()) < n // 3  # every kind of ending occurs


def test_batched_rollout_ends_episodes_as_the_env_does():
    def policy(state):  # steer against the trailer's angle, a crude controller that sometimes docks
        return (-2.0 * torch.sin(state[:, 3:4]) + 0.3 * torch.sin(state[:, 1:2])).clamp(-0.78, 0.78)

    env = TruckBackerUpperEnv()
    starts = []
    for seed in range(12):
        env.reset(seed=seed)
        starts.append(env.state)
    result = rollout(policy, torch.tensor(np.array(starts)), KIN)
    for i, start in enumerate(starts):
        env.reset(options={"state": start})
        steps, done, info = 0, False, {}
        while not done:
            state = torch.tensor(env.state)[None]
            _, _, terminated, truncated, info = env.step(policy(state)[0].numpy())
            steps, done = steps + 1, terminated or truncated
        assert result.steps[i] == steps
        assert bool(result.docked[i]) == info["is_success"]
        assert bool(result.jackknife[i]) == info["jackknife"]
        np.testing.assert_allclose(result.final_state[i].numpy(), env.state, rtol=0, atol=1e-12)
