"""DQN on CartPole-v1: seeds solved and env steps per second, against Stable-Baselines3's DQN.

    python benchmarks/bench_dqn.py            # 5 seeds x 50,000 steps, writes benchmarks/results/dqn.json
    python benchmarks/bench_dqn.py --quick    # 2 seeds x 20,000 steps, for a smoke run

Every agent gets RL-Zoo's CartPole hyperparameters for SB3's DQN (our defaults), the same step budget and
one torch thread. Ours adds 3-step returns; SB3 runs twice, as the Zoo has it and with the same 3-step
returns (its ``n_steps``), so the throughput ratio is taken at identical hyperparameters. Each training run
is a fresh process (timed from the start of ``learn`` to its end); runs go one after another so they do
not share the cores. A run is "solved" when the greedy policy averages at least 475 over 20 evaluation
episodes (the same seeded evaluation for all).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import finish, print_table, run_worker  # noqa: E402

ENV_ID = "CartPole-v1"
SOLVED = 475.0
EVAL_EPISODES = 20
EVAL_SEED = 10_000  # evaluation episodes never start where training episodes did
# RL-Zoo (hyperparams/dqn.yml, CartPole-v1), in SB3's names.
ZOO = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
}
NET_ARCH = [256, 256]
# Ours runs with 3-step returns, its one departure from the Zoo set. Neither is better on these seeds: in
# trial runs 1-step returns also solved 3 of 5 (seeds 0 and 4 missed; here 3-step misses 1 and 3).
N_STEP = 3
TOOLS = {"ours": "rlsuite", "sb3": "SB3 (Zoo)", "sb3-nstep": f"SB3 n_steps={N_STEP}"}


def worker(tool: str, seed: int, steps: int) -> dict:
    """Train one agent, time its learn(), evaluate its greedy policy."""
    import torch

    torch.set_num_threads(1)
    from core.evaluation import evaluate_policy

    if tool == "ours":
        from agents.dqn import DQN

        agent = DQN(ENV_ID, **ZOO, n_step=N_STEP, net_arch=tuple(NET_ARCH), seed=seed)
        start = time.perf_counter()
        agent.learn(steps, progress_bar=False)
    else:
        from stable_baselines3 import DQN as SB3DQN

        n_steps = N_STEP if tool == "sb3-nstep" else 1
        agent = SB3DQN(
            "MlpPolicy", ENV_ID, **ZOO, n_steps=n_steps, policy_kwargs={"net_arch": NET_ARCH}, seed=seed
        )
        start = time.perf_counter()
        agent.learn(steps)
    seconds = time.perf_counter() - start
    result = evaluate_policy(agent, ENV_ID, n_episodes=EVAL_EPISODES, seed=EVAL_SEED + seed)
    return {
        "seed": seed,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "eval_mean_return": result.mean_return,
        "solved": result.mean_return >= SOLVED,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20,000 steps")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, seed, steps = args.worker
        print(json.dumps(worker(tool, int(seed), int(steps))))
        return

    seeds, steps = (range(2), 20_000) if args.quick else (range(5), 50_000)
    script = str(Path(__file__).resolve())
    runs = {tool: [] for tool in TOOLS}
    for seed in seeds:
        for tool in runs:
            run = run_worker(script, [tool, str(seed), str(steps)], timeout=900)
            runs[tool].append({"seed": seed, **run})
            print(f"{tool} seed {seed}: {run}", flush=True)

    def summary(tool: str) -> dict:
        done = [r for r in runs[tool] if r["status"] == "ok"]
        seconds = sum(r["seconds"] for r in done)
        return {
            "seeds_solved": sum(r["solved"] for r in done),
            "steps_per_second": len(done) * steps / seconds if seconds else None,
            "mean_eval_return": sum(r["eval_mean_return"] for r in done) / len(done) if done else None,
        }

    ours, sb3, sb3_nstep = summary("ours"), summary("sb3"), summary("sb3-nstep")

    def sps_ratio(peer: dict) -> float | None:
        both = ours["steps_per_second"] and peer["steps_per_second"]
        return ours["steps_per_second"] / peer["steps_per_second"] if both else None

    ratio = sps_ratio(sb3_nstep)  # identical hyperparameters
    print_table(
        f"DQN on {ENV_ID}: {steps:,} steps per seed, greedy evaluation over {EVAL_EPISODES} episodes",
        ["tool", "seed", "eval return", "solved", "train s", "steps/s", "status"],
        [
            [
                TOOLS[tool],
                r["seed"],
                r.get("eval_mean_return", "-"),
                r.get("solved", "-"),
                r.get("seconds", "-"),
                r.get("steps_per_second", "-"),
                r["status"],
            ]
            for tool in runs
            for r in runs[tool]
        ],
    )
    figures = {
        "env": ENV_ID,
        "steps": steps,
        "seeds": list(seeds),
        "eval_episodes": EVAL_EPISODES,
        "solved_threshold": SOLVED,
        "hyperparameters": {**ZOO, "net_arch": NET_ARCH},
        "ours_n_step": N_STEP,
        "torch_threads": 1,
        "cartpole_seeds": len(seeds),
        "cartpole_seeds_solved": ours["seeds_solved"],
        "sb3_cartpole_seeds_solved": sb3["seeds_solved"],
        "sb3_nstep_cartpole_seeds_solved": sb3_nstep["seeds_solved"],
        "steps_per_second": ours["steps_per_second"],
        "sb3_steps_per_second": sb3["steps_per_second"],
        "sb3_nstep_steps_per_second": sb3_nstep["steps_per_second"],
        "sps_ratio_vs_sb3": ratio,
        "sps_ratio_vs_sb3_zoo": sps_ratio(sb3),
        "mean_eval_return": ours["mean_eval_return"],
        "sb3_mean_eval_return": sb3["mean_eval_return"],
        "sb3_nstep_mean_eval_return": sb3_nstep["mean_eval_return"],
        "runs": runs,
        "targets": {
            "all seeds solved": ours["seeds_solved"] == len(seeds),
            "sps_ratio_vs_sb3 >= 2": ratio is not None and ratio >= 2,
        },
    }
    n = len(seeds)
    print(
        f"\nseeds solved: rlsuite {ours['seeds_solved']}/{n}, SB3 (Zoo) {sb3['seeds_solved']}/{n}, "
        f"SB3 n_steps={N_STEP} {sb3_nstep['seeds_solved']}/{n}"
    )
    print(f"steps per second vs SB3 at the same hyperparameters: {ratio and round(ratio, 2)}x")
    finish("dqn", figures, args.quick)


if __name__ == "__main__":
    main()
