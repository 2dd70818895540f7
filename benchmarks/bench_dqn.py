"""DQN: CartPole-v1 seeds solved and env steps per second against Stable-Baselines3's DQN; GridWorld maze
from pixels and from vectors to the planner's optimum; LunarLander-v3 on request.

    python benchmarks/bench_dqn.py                # CartPole 5 seeds x 50,000 steps, GridWorld: dqn.json
    python benchmarks/bench_dqn.py --lunarlander  # the same, and LunarLander 3 seeds x 300,000 steps
    python benchmarks/bench_dqn.py --quick        # 2 seeds x 20,000 steps and short mazes, a smoke run
    python benchmarks/bench_dqn.py --only gridworld   # one part, its figures updated in dqn.json

CartPole, seeds solved: ours with the recommended CartPole settings (RL-Zoo's CartPole hyperparameters
for SB3's DQN, which are DQNConfig's defaults, with the departures in ``DQN_CARTPOLE``, and training stopped
by ``StopOnTrainingReturn`` once its last 10 training episodes average 475: no evaluation episodes are
spent on it), SB3 with the Zoo set as published, at most 50,000 steps each. A run is "solved" when the
greedy policy averages at least 475 over 20 evaluation episodes (the same seeded evaluation for all).

CartPole, throughput: ours and SB3 at identical hyperparameters (network, batch, train frequency, gradient
steps, n-step returns; ours also pays for Double DQN), neither stopped early, alternating run by run.
Every run has one torch thread and is a fresh process, timed from the start of ``learn`` to its end; runs
go one after another so they do not share the cores.

GridWorld: see benchmarks/bench_dqn_gridworld.py. LunarLander: see benchmarks/bench_dqn_lunarlander.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS_DIR, finish, print_table, run_worker  # noqa: E402
from rlsuite.recipes import DQN_CARTPOLE  # noqa: E402

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
# The recommended CartPole settings: DQNConfig's defaults (the Zoo set above) and DQN_CARTPOLE's departures
# (rlsuite.recipes), and training stops once the last STOP_EPISODES training episodes average STOP_RETURN
# (StopOnTrainingReturn).
STOP_RETURN, STOP_EPISODES = 475.0, 10
N_STEP = DQN_CARTPOLE.get("n_step", 1)
TOOLS = {
    "ours": "rlsuite",
    "sb3": "SB3 (Zoo)",
    "ours-fixed": "rlsuite, no stop",
    "sb3-same": f"SB3 n_steps={N_STEP}",
}
THROUGHPUT_SEEDS, THROUGHPUT_STEPS = (0, 1, 2), 20_000
GRID_SEEDS = (0,)


def worker(tool: str, seed: int, steps: int) -> dict:
    """One fresh-process run: a CartPole agent (timed learn(), greedy evaluation), a maze or a lander."""
    import torch

    torch.set_num_threads(1)
    if tool.startswith("grid-"):
        from benchmarks.bench_dqn_gridworld import run as run_gridworld

        return run_gridworld(tool.removeprefix("grid-"), seed, steps)
    if tool == "lunarlander":
        from benchmarks.bench_dqn_lunarlander import run as run_lunarlander

        return run_lunarlander(seed, steps)
    from core.evaluation import evaluate_policy

    if tool.startswith("ours"):
        from agents.dqn import DQN
        from agents.dqn_callbacks import StopOnTrainingReturn

        agent = DQN(ENV_ID, **ZOO, **DQN_CARTPOLE, net_arch=tuple(NET_ARCH), seed=seed)
        stop = StopOnTrainingReturn(STOP_RETURN, STOP_EPISODES) if tool == "ours" else None
        start = time.perf_counter()
        agent.learn(steps, callback=stop, progress_bar=False)
        steps = agent.num_timesteps
    else:
        from stable_baselines3 import DQN as SB3DQN

        n_steps = N_STEP if tool == "sb3-same" else 1
        agent = SB3DQN(
            "MlpPolicy", ENV_ID, **ZOO, n_steps=n_steps, policy_kwargs={"net_arch": NET_ARCH}, seed=seed
        )
        start = time.perf_counter()
        agent.learn(steps)
    seconds = time.perf_counter() - start
    result = evaluate_policy(agent, ENV_ID, n_episodes=EVAL_EPISODES, seed=EVAL_SEED + seed)
    return {
        "seed": seed,
        "steps": steps,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "eval_mean_return": result.mean_return,
        "solved": result.mean_return >= SOLVED,
    }


def run_all(script: str, tools: list[str], seeds: list[int], steps: int, timeout: float) -> dict[str, list]:
    """Every tool on every seed, seed by seed (so a slow spell of the machine hits all tools alike)."""
    runs: dict[str, list] = {tool: [] for tool in tools}
    for seed in seeds:
        for tool in tools:
            run = run_worker(script, [tool, str(seed), str(steps)], timeout=timeout)
            runs[tool].append({"seed": seed, **run})
            print(f"{tool} seed {seed}: {run}", flush=True)
    return runs


def cartpole(
    script: str, seeds: list[int], steps: int, throughput_seeds: list[int], throughput_steps: int
) -> dict:
    """CartPole seeds solved, ours (recommended settings) and SB3's (Zoo); then env steps per second at
    identical hyperparameters, both without early stopping, alternating tool by tool."""
    runs = run_all(script, ["ours", "sb3"], seeds, steps, timeout=1800)
    runs |= run_all(script, ["ours-fixed", "sb3-same"], throughput_seeds, throughput_steps, timeout=1800)

    def summary(tool: str) -> dict:
        done = [r for r in runs[tool] if r["status"] == "ok"]
        seconds = sum(r["seconds"] for r in done)
        return {
            "seeds_solved": sum(r["solved"] for r in done),
            "steps_per_second": sum(r["steps"] for r in done) / seconds if seconds else None,
            "mean_eval_return": sum(r["eval_mean_return"] for r in done) / len(done) if done else None,
        }

    stats = {tool: summary(tool) for tool in TOOLS}
    ours, sb3 = stats["ours"], stats["sb3"]
    fixed, same = stats["ours-fixed"], stats["sb3-same"]
    ratio = fixed["steps_per_second"] / same["steps_per_second"] if same["steps_per_second"] else None
    print_table(
        f"DQN on {ENV_ID}: at most {steps:,} steps per seed, greedy evaluation over {EVAL_EPISODES} episodes",
        ["tool", "seed", "steps", "eval return", "solved", "train s", "steps/s", "status"],
        [
            [
                TOOLS[tool],
                r["seed"],
                r.get("steps", "-"),
                r.get("eval_mean_return", "-"),
                r.get("solved", "-"),
            ]
            + [r.get("seconds", "-"), r.get("steps_per_second", "-"), r["status"]]
            for tool in runs
            for r in runs[tool]
        ],
    )
    n = len(seeds)
    print(f"\nseeds solved: rlsuite {ours['seeds_solved']}/{n}, SB3 (Zoo) {sb3['seeds_solved']}/{n}")
    print(f"steps per second vs SB3 at the same hyperparameters: {ratio and round(ratio, 2)}x")
    return {
        "env": ENV_ID,
        "steps": steps,
        "seeds": seeds,
        "eval_episodes": EVAL_EPISODES,
        "solved_threshold": SOLVED,
        "hyperparameters": {**ZOO, "net_arch": NET_ARCH},
        "ours_departures_from_zoo": DQN_CARTPOLE,
        "ours_stop_on_training_return": {"return": STOP_RETURN, "episodes": STOP_EPISODES},
        "torch_threads": 1,
        "cartpole_seeds": len(seeds),
        "cartpole_seeds_solved": ours["seeds_solved"],
        "cartpole_steps_used": [r.get("steps") for r in runs["ours"]],
        "sb3_cartpole_seeds_solved": sb3["seeds_solved"],
        "mean_eval_return": ours["mean_eval_return"],
        "sb3_mean_eval_return": sb3["mean_eval_return"],
        "throughput_seeds": throughput_seeds,
        "throughput_steps": throughput_steps,
        "steps_per_second": fixed["steps_per_second"],
        "sb3_steps_per_second": same["steps_per_second"],
        "sps_ratio_vs_sb3": ratio,
        "runs": runs,
    }


def gridworld(script: str, seeds: list[int], budget: int | None) -> dict:
    """Steps until the greedy policy's return is the planner's optimum, from pixels and from vectors."""
    from benchmarks.bench_dqn_gridworld import BUDGET, ENV_KWARGS

    steps = {obs: budget or BUDGET[obs] for obs in ("pixels", "coords")}
    runs = {
        obs: run_all(script, [f"grid-{obs}"], seeds, steps[obs], timeout=3000)[f"grid-{obs}"]
        for obs in ("coords", "pixels")
    }
    rows = [
        [obs, r["seed"], r.get("steps_to_optimal", "-"), r.get("optimal_at_end", "-")]
        for obs in runs
        for r in runs[obs]
    ]
    print_table("DQN on the GridWorld maze", ["obs", "seed", "steps to optimal", "optimal at end"], rows)

    def worst(obs: str) -> int | None:  # the slowest seed; None if any seed never got there
        reached = [r.get("steps_to_optimal") for r in runs[obs]]
        return None if None in reached else max(reached)

    return {
        "gridworld_env": ENV_KWARGS,
        "gridworld_budget": steps,
        "gridworld_seeds": seeds,
        "pixel_gridworld_steps_to_optimal": worst("pixels"),
        "vector_gridworld_steps_to_optimal": worst("coords"),
        "gridworld_runs": runs,
    }


def lunarlander(script: str, seeds: list[int], steps: int) -> dict:
    """Mean greedy return per seed within ``steps`` (stopped by greedy validation episodes); solved at 200."""
    from benchmarks import bench_dqn_lunarlander as ll

    runs = run_all(script, ["lunarlander"], seeds, steps, timeout=7200)["lunarlander"]
    print_table(
        f"DQN on LunarLander-v3: at most {steps:,} steps per seed",
        ["seed", "steps", "best validation", "eval return", "solved", "train s", "status"],
        [
            [
                r["seed"],
                r.get("steps", "-"),
                r.get("best_validation_return", "-"),
                r.get("eval_mean_return", "-"),
                r.get("solved", "-"),
                r.get("seconds", "-"),
                r["status"],
            ]
            for r in runs
        ],
    )
    return {
        "lunarlander_hyperparameters": ll.HYPERPARAMS,
        "lunarlander_stopping_rule": {
            "validation_every": ll.VALIDATION_EVERY,
            "validation_episodes": ll.VALIDATION_EPISODES,
            "stop_return": ll.STOP_RETURN,
            "validation_seeds_from": f"{ll.VALIDATION_SEED} + 10000 * seed",
            "final_eval_seeds_from": f"{ll.EVAL_SEED} + seed",
            "without_a_stop": "the whole budget, then the best-validated network",
        },
        "lunarlander_steps": steps,
        "lunarlander_seeds": len(seeds),
        "lunarlander_seeds_solved": sum(r.get("solved", False) for r in runs),
        "lunarlander_runs": runs,
    }


PARTS = ("cartpole", "gridworld", "lunarlander")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 20,000 steps, short mazes")
    parser.add_argument("--lunarlander", action="store_true", help="add LunarLander (3 x 300,000 steps)")
    parser.add_argument(
        "--only", choices=PARTS, help="run one part and update its figures in the existing results file"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, seed, steps = args.worker
        print(json.dumps(worker(tool, int(seed), int(steps))))
        return

    script = str(Path(__file__).resolve())
    parts = (
        [args.only]
        if args.only
        else ["cartpole", "gridworld"] + (["lunarlander"] if args.lunarlander else [])
    )
    previous = RESULTS_DIR / f"dqn{'-quick' if args.quick else ''}.json"
    figures = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    for key in ("machine", "versions", "command"):
        figures.pop(key, None)
    targets = figures.pop("targets", {})
    measured = figures.pop("measured", {})
    if "cartpole" in parts:
        seeds, steps = ([0, 1], 20_000) if args.quick else ([0, 1, 2, 3, 4], 50_000)
        throughput = ([0], 5_000) if args.quick else (list(THROUGHPUT_SEEDS), THROUGHPUT_STEPS)
        figures |= cartpole(script, seeds, steps, *throughput)
        targets["all CartPole seeds solved"] = figures["cartpole_seeds_solved"] == len(seeds)
        targets["sps_ratio_vs_sb3 >= 2"] = (figures["sps_ratio_vs_sb3"] or 0) >= 2
    if "gridworld" in parts:
        figures |= gridworld(script, [0] if args.quick else list(GRID_SEEDS), 5_000 if args.quick else None)
        targets["pixel GridWorld reaches the optimum"] = (
            figures["pixel_gridworld_steps_to_optimal"] is not None
        )
        targets["vector GridWorld reaches the optimum"] = (
            figures["vector_gridworld_steps_to_optimal"] is not None
        )
    if "lunarlander" in parts:
        from benchmarks.bench_dqn_lunarlander import STEPS, box2d_available

        if not box2d_available():
            sys.exit("LunarLander needs Box2D: pip install box2d==2.3.10")
        ll_seeds, ll_steps = ([0], 20_000) if args.quick else ([0, 1, 2], STEPS)
        figures |= lunarlander(script, ll_seeds, ll_steps)
        targets["all LunarLander seeds solved"] = figures["lunarlander_seeds_solved"] == len(ll_seeds)
    figures.setdefault("lunarlander_seeds_solved", None)  # None: not run (pass --lunarlander)
    command = " ".join([Path(sys.executable).name, *sys.argv])
    measured |= {
        part: {"command": command, "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())} for part in parts
    }
    figures["measured"] = measured  # which command produced each part's figures, and when
    figures["targets"] = targets
    finish("dqn", figures, args.quick)


if __name__ == "__main__":
    main()
