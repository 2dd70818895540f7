"""The recommended CartPole settings, one copy for the demo and the benchmarks that measure them."""

from __future__ import annotations

from typing import Any

# DQN: DQNConfig's defaults (RL-Zoo's CartPole-v1 set) and these departures (bench_dqn.py measures them,
# stopping once the last 10 training episodes average 475).
DQN_CARTPOLE: dict[str, Any] = {"n_step": 3, "double_q": True}
# PPO: RL-Zoo (hyperparams/ppo.yml, CartPole-v1) in our names; its lin_ values are linear_schedule.
PPO_CARTPOLE: dict[str, Any] = {
    "n_envs": 8,
    "n_steps": 32,
    "batch_size": 256,
    "gae_lambda": 0.8,
    "gamma": 0.98,
    "n_epochs": 20,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "linear_schedule": True,
}
