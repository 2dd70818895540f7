"""The torch Pendulum equals Gymnasium's Pendulum-v1, step for step and reward for reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from envs.pendulum_dynamics import PendulumDynamics, pendulum_cost


def test_torch_pendulum_follows_gymnasium_step_for_step() -> None:
    env = gym.make("Pendulum-v1")
    env.reset(seed=0)
    dynamics = PendulumDynamics()
    rng = np.random.default_rng(0)
    state = torch.as_tensor(env.unwrapped.state, dtype=torch.float64).reshape(1, 2)
    for _ in range(200):
        action = rng.uniform(-3.0, 3.0, size=1)  # beyond the bounds too: both clip
        before = state
        _, reward, *_ = env.step(action.astype(np.float32))
        torque = torch.tensor([[float(np.float32(action[0]))]], dtype=torch.float64)
        state = dynamics.step(state, torque)
        np.testing.assert_allclose(state[0].numpy(), env.unwrapped.state, rtol=1e-6, atol=1e-6)
        cost = pendulum_cost(torch.stack((before, state), dim=1), torque.unsqueeze(1))
        assert abs(-float(cost[0]) - reward) < 1e-5
        state = torch.as_tensor(env.unwrapped.state, dtype=torch.float64).reshape(1, 2)  # no drift


def test_batched_steps_are_independent() -> None:
    dynamics = PendulumDynamics()
    states = torch.tensor([[0.1, 0.0], [3.0, -7.9], [-2.0, 5.0]], dtype=torch.float64)
    actions = torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64)
    batched = dynamics.step(states, actions)
    one_by_one = torch.cat([dynamics.step(states[i : i + 1], actions[i : i + 1]) for i in range(3)])
    assert torch.equal(batched, one_by_one)
