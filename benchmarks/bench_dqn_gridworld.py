"""DQN on a GridWorld maze, from pixels (the conv Q-network) and from (row, col) vectors (the MLP).

The target is the exact planner's optimal return: value iteration on the env's own tabular model gives
the optimal policy, rolled out once from the start cell (the maze is deterministic here, ``noise`` 0, so
one rollout is the return). Every ``CHECK_EVERY`` steps the DQN's greedy policy is rolled out the same way;
"steps to optimal" is the first check where its return equals the planner's. Training then goes on to the
end of the budget, and ``optimal_at_end`` says whether the final greedy policy is still optimal.

A step costs -0.01 and the exit +1, so the return is 1 − 0.01 × (steps to the exit): only a shortest path
scores the optimum. The 7x7 maze of seed 0 is one winding corridor of 24 steps with dead ends.

Run by ``benchmarks/bench_dqn.py`` (one fresh process per run), or alone for a look:
``python benchmarks/bench_dqn_gridworld.py pixels 0``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# 500-step episodes instead of the registered 200: a random walk finds this maze's exit in one episode of
# 200 steps out of 25, one of 500 steps out of 4, so ε-greedy search meets the reward often enough.
ENV_KWARGS = {
    "layout": "maze-7",
    "layout_seed": 0,
    "noise": 0.0,
    "living_reward": -0.01,
    "max_episode_steps": 500,
}
GAMMA = 0.99
CHECK_EVERY = 500
BUDGET = {"pixels": 50_000, "coords": 30_000}
# Settings for small deterministic mazes: an update every 4 steps, 3-step returns to carry the exit's
# reward back along the corridor, ε decayed over 40% of the run.
COMMON = {
    "buffer_size": 50_000,
    "learning_starts": 2_000,
    "gamma": GAMMA,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 500,
    "exploration_fraction": 0.4,
    "exploration_final_eps": 0.05,
    "double_q": True,
    "n_step": 3,
}
HYPERPARAMS: dict[str, dict[str, Any]] = {
    "pixels": {**COMMON, "learning_rate": 1e-3, "batch_size": 64, "net_arch": (128,)},
    "coords": {**COMMON, "learning_rate": 1e-3, "batch_size": 64, "net_arch": (128, 128)},
}


def pixel_encoder(shape: tuple[int, int, int]) -> Any:
    """The Nature trunk's first two convs (8x8 stride 4, 4x4 stride 2) at half its channels, and 128
    features: 56x56 frames -> 13x13 -> 5x5. The full trunk's 3x3 stride-1 third conv and 512 features
    cost ten times more per update on one CPU thread and are not needed for a 7x7 grid's picture."""
    from perception import ConvEncoder, ConvEncoderConfig

    return ConvEncoder(ConvEncoderConfig(shape, (16, 32), (8, 4), (4, 2), 128, channels_last=True))


def greedy_return(env: Any, act: Any, max_steps: int = 200) -> float:
    """Undiscounted return of one episode from the start cell, acting with ``act(obs)``."""
    obs, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(int(act(obs)))
        total += float(reward)
        if terminated or truncated:
            break
    return total


def planner_return() -> float:
    """The return of value iteration's optimal policy from the start cell."""
    import gymnasium as gym

    import envs
    from agents.tabular import value_iteration

    env = gym.make(envs.GRIDWORLD_ID, **ENV_KWARGS, obs="index")
    policy = value_iteration(env.unwrapped.mdp(), GAMMA, tol=1e-10).policy
    return greedy_return(env, lambda state: policy[state])


def run(obs: str, seed: int, budget: int | None = None) -> dict[str, Any]:
    """Train DQN on the maze with observations ``obs``; steps until its greedy return is the optimum."""
    import gymnasium as gym
    import torch

    import envs
    from agents.dqn import DQN

    torch.set_num_threads(1)
    budget = budget or BUDGET[obs]
    optimal = planner_return()
    probe = gym.make(envs.GRIDWORLD_ID, **ENV_KWARGS, obs=obs)
    env = gym.make(envs.GRIDWORLD_ID, **ENV_KWARGS, obs=obs)
    torch.manual_seed(seed)  # the encoder's init
    encoder = pixel_encoder(env.observation_space.shape) if obs == "pixels" else None
    agent = DQN(env, encoder=encoder, **HYPERPARAMS[obs], seed=seed)
    reached: list[int] = []
    returns: list[float] = []

    def check(dqn: DQN) -> None:
        if dqn.num_timesteps % CHECK_EVERY == 0:
            returns.append(greedy_return(probe, lambda o: dqn.predict(o)[0]))
            if not reached and returns[-1] >= optimal - 1e-9:
                reached.append(dqn.num_timesteps)

    start = time.perf_counter()
    agent.learn(budget, callback=check, progress_bar=False)
    seconds = time.perf_counter() - start
    return {
        "obs": obs,
        "seed": seed,
        "optimal_return": optimal,
        "steps_to_optimal": reached[0] if reached else None,
        "final_greedy_return": returns[-1],
        "optimal_at_end": returns[-1] >= optimal - 1e-9,
        "budget": budget,
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None))
