"""The PETS loop: its state round-trips, a callback stops it, batches are planned row by row."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.pendulum_dynamics import pendulum_cost
from planners import MPPI
from worldmodels.ensemble import ProbabilisticEnsemble
from worldmodels.pets import PETS


def angle_cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Pendulum's cost on its observation (cos θ, sin θ, θ̇)."""
    angles = torch.stack((torch.atan2(states[..., 1], states[..., 0]), states[..., 2]), dim=-1)
    return pendulum_cost(angles, actions)


def small_pets(seed: int = 0) -> PETS:
    env = gym.make("Pendulum-v1", max_episode_steps=30)

    def make_planner(model: ProbabilisticEnsemble) -> MPPI:
        return MPPI(model, angle_cost, 4, -2.0, 2.0, samples=20, seed=seed)

    return PETS(
        env, make_planner, random_steps=30, refit_every=30, epochs=2, ensemble={"hidden": (16,)}, seed=seed
    )


OBS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5], [-1.0, 0.0, -1.0]], dtype=np.float32)


def test_state_dict_round_trips_into_a_fresh_pets() -> None:
    trained = small_pets().learn(70)
    restored = small_pets(seed=0)
    restored.load_state_dict(trained.state_dict())
    assert restored.num_timesteps == 70 and restored._fitted
    assert [(e.ret, e.length) for e in restored.episodes] == [(e.ret, e.length) for e in trained.episodes]
    assert restored.fit_losses == trained.fit_losses
    for mine, theirs in zip(restored._arrays(), trained._arrays(), strict=True):
        assert mine.shape[0] == 70 and np.array_equal(mine, theirs)
    for key, value in trained.model.state_dict().items():  # weights, log-variance bounds, standardisers
        assert torch.equal(restored.model.state_dict()[key], value), key
    trained.reset_planners()  # both plan afresh: the same actions
    assert np.array_equal(restored.predict(OBS)[0], trained.predict(OBS)[0])
    restored.learn(30)  # and learning goes on from there: one more refit on all 100 transitions
    assert restored.num_timesteps == 100 and len(restored.fit_losses) == len(trained.fit_losses) + 1


def test_an_untrained_state_round_trips_too() -> None:
    restored = small_pets()
    restored.load_state_dict(small_pets().state_dict())
    assert restored.num_timesteps == 0 and not restored._fitted
    assert [a.shape for a in restored._arrays()] == [(0, 3), (0, 1), (0, 3)]


def test_callback_false_stops_and_zero_steps_is_nothing() -> None:
    pets = small_pets()
    seen = []
    pets.learn(50, callback=lambda p: seen.append(p.num_timesteps) or p.num_timesteps < 12)
    assert pets.num_timesteps == 12 and seen == list(range(1, 13))
    pets.learn(0)
    assert pets.num_timesteps == 12
    with pytest.raises(UserError, match="total_steps"):
        pets.learn(-1)


def test_a_batch_is_planned_row_by_row_each_with_its_own_planner() -> None:
    pets = small_pets().learn(40)
    pets.reset_planners()
    actions, _ = pets.predict(OBS)
    assert actions.shape == (3, 1) and len(pets.planners) == 3
    assert np.all(np.abs(actions) <= 2.0)
    for row, action in zip(OBS, actions, strict=True):  # each row as a fresh planner plans it alone
        pets.reset_planners()
        assert np.array_equal(pets.predict(row)[0], action)
