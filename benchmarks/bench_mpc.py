"""Model-predictive control: the car to a target and round obstacles, real-time steps, Pendulum-v1 on its
exact torch model, and (``--pets``) PETS on MuJoCo against Stable-Baselines3's PPO at the same budget.

    python benchmarks/bench_mpc.py            # writes benchmarks/results/mpc.json
    python benchmarks/bench_mpc.py --quick    # 10 obstacle scenarios, 3 pendulum episodes, for a smoke run
    python benchmarks/bench_mpc.py --pets     # also PETS and PPO on InvertedPendulum-v5 and Reacher-v5

Car: KinematicCar-v0 from rest at the origin to (5, 1), 200 steps (20 s) per planner at the settings in
``rlsuite.demo_mpc.CAR_PLANNERS`` (horizon 20; gradient MPC 10 Adam iterations, MPPI 1,000 samples); the
final position error and speed are the env's after the last step, the worst of 5 planner seeds, and every
plan() call of the first drive's 200 steps is timed (one torch thread; medians with the distribution), in
wall-clock time and in this process's CPU time: on a shared machine the wall clock also counts the time
the process waits for a core, which the load averages recorded next to the figures show.
Gradient MPC is also timed on the generic step-by-step rollout (the car's closed-form one is the default).
Obstacles: two circles sampled on the straight way to (5, 1) by the env's seeded reset, 100 seeds, an
episode of 150 steps each;
a collision is the env's (a disc of radius 0.35 round either axle centre touching a circle).
Pendulum-v1: MPPI on the torch re-implementation of its physics (horizon 30, 1,000 samples), 10 episodes.
PETS (``--pets``): MPPI on a probabilistic ensemble refitted as data arrive (``rlsuite.demo_mpc.PETS_TASKS``)
for 10,000 real steps on InvertedPendulum-v5 and 20,000 on Reacher-v5, then evaluated on fresh episodes;
SB3's PPO (its defaults) gets the same number of real steps and the same evaluation episodes.
Each part runs in a fresh process, one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS_DIR, finish, print_table, run_worker  # noqa: E402

TARGET = (5.0, 1.0)
REACH_STEPS = 200
REACH_SEEDS = range(5)  # the planners' random numbers; the figures are the worst of the five
OBSTACLE_SCENARIOS = 100
OBSTACLE_PLANNERS = ("mppi",)  # --obstacle-planners mppi,gradient adds gradient MPC (8 restarts; slow)
OBSTACLE_SETTINGS = {"gradient": {"restarts": 8}}  # restarts for the two ways round an obstacle
PENDULUM_EPISODES = 10
PENDULUM_MPPI = {"horizon": 30, "samples": 1000, "temperature": 1.0, "noise_std": 1.0}
MAX_ERROR, MAX_SPEED, REAL_TIME_MS, PENDULUM_TARGET = 0.1, 0.05, 20.0, -200.0
PETS_BUDGETS = {"InvertedPendulum-v5": 10_000, "Reacher-v5": 20_000}  # real env steps, PETS and PPO alike
PETS_EVAL_EPISODES = {"InvertedPendulum-v5": 3, "Reacher-v5": 10}
IP_TARGET = 900.0
EVAL_SEED = 10_000


def distribution(values: list[float]) -> dict[str, float]:
    import numpy as np

    q = np.percentile(values, [10, 50, 90, 99])
    return {
        "p10": q[0],
        "median": q[1],
        "p90": q[2],
        "p99": q[3],
        "max": float(np.max(values)),
        "n": len(values),
    }


def reach(planner: str) -> dict:
    """200-step drives to (5, 1), one per planner seed: the worst final error and speed, and the time of
    each plan() call of the first drive."""
    from envs.car.env import KinematicCarEnv
    from rlsuite.demo_mpc import drive

    runs = [
        drive(KinematicCarEnv(target=TARGET, max_steps=REACH_STEPS), planner, seed=s) for s in REACH_SEEDS
    ]
    errors = [run.info["distance"] for run in runs]
    speeds = [abs(run.info["speed"]) for run in runs]
    return {
        "final_position_error": max(errors),
        "final_speed": max(speeds),
        "final_position_error_by_seed": errors,
        "final_speed_by_seed": speeds,
        "step_ms": distribution(runs[0].step_ms),
        "step_cpu_ms": distribution(runs[0].step_cpu_ms),
    }


def reach_stepwise() -> dict:
    """Gradient MPC timed on the generic rollout (T calls of step) instead of the car's closed form."""
    import torch

    from envs.car.env import KinematicCarEnv
    from planners import GradientMPC
    from rlsuite.demo_mpc import CAR_PLANNERS, HORIZON, car_cost

    class Stepwise:  # the car without its rollout method
        def __init__(self, car):
            self.car, self.state_dim, self.action_dim = car, car.state_dim, car.action_dim

        def step(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
            return self.car.step(state, action)

    env = KinematicCarEnv(target=TARGET, max_steps=REACH_STEPS)
    env.reset()
    car = env.kinematics
    planner = GradientMPC(
        Stepwise(car), car_cost(env), HORIZON, car.action_low, car.action_high, **CAR_PLANNERS["gradient"][1]
    )
    times, done = [], False
    while not done:
        start = time.perf_counter()
        action = planner.plan(env.state)
        times.append(1000 * (time.perf_counter() - start))
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return {
        "final_position_error": info["distance"],
        "final_speed": abs(info["speed"]),
        "step_ms": distribution(times),
    }


def obstacles(planner: str, scenarios: int) -> dict:
    """Seeded two-obstacle scenarios: how many end without a collision (and how many park on the target)."""
    from envs.car.env import KinematicCarEnv
    from rlsuite.demo_mpc import drive

    env = KinematicCarEnv(target=TARGET, obstacles=2)
    collisions, successes, errors = [], 0, []
    for seed in range(scenarios):
        run = drive(env, planner, seed=seed, **OBSTACLE_SETTINGS.get(planner, {}))
        if run.info["collision"]:
            collisions.append(seed)
        successes += run.info["is_success"]
        errors.append(run.info["distance"])
    return {
        "scenarios": scenarios,
        "collision_free": scenarios - len(collisions),
        "collision_seeds": collisions,
        "parked": successes,
        "median_final_error": float(sorted(errors)[len(errors) // 2]),
    }


def pendulum(episodes: int) -> dict:
    """MPPI on the torch Pendulum-v1 model, acting in Gymnasium's env."""
    import gymnasium as gym

    from envs.pendulum_dynamics import PendulumDynamics, pendulum_cost
    from planners import MPPI

    dynamics, returns, times = PendulumDynamics(), [], []
    settings = dict(PENDULUM_MPPI)
    horizon = settings.pop("horizon")
    for episode in range(episodes):
        env = gym.make("Pendulum-v1")
        env.reset(seed=episode)
        planner = MPPI(dynamics, pendulum_cost, horizon, -2.0, 2.0, seed=episode, **settings)
        total, done = 0.0, False
        while not done:
            start = time.perf_counter()
            action = planner.plan(env.unwrapped.state)
            times.append(1000 * (time.perf_counter() - start))
            _, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {"mean_return": sum(returns) / len(returns), "returns": returns, "step_ms": distribution(times)}


def pets(env_id: str, steps: int, episodes: int) -> dict:
    """PETS for ``steps`` real steps, then its planner evaluated on fresh episodes."""
    from rlsuite.demo_mpc import PETS_TASKS, evaluate_planning_agent, make_pets

    agent = make_pets(env_id, seed=0)
    start = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - start
    returns = evaluate_planning_agent(agent, env_id, episodes, seed=EVAL_SEED)
    task = PETS_TASKS[env_id]
    return {
        "mean_return": sum(returns) / len(returns),
        "returns": returns,
        "train_seconds": seconds,
        "seconds_planning_fitting": agent.seconds,
        "training_episodes": [[e.ret, e.steps_so_far] for e in agent.episodes],
        "settings": {"horizon": task.horizon, "mppi": task.mppi, "pets": task.pets},
    }


def ppo(env_id: str, steps: int, episodes: int) -> dict:
    """Stable-Baselines3's PPO (its defaults) for the same number of real steps, greedy evaluation."""
    from stable_baselines3 import PPO

    from core.evaluation import evaluate_policy

    agent = PPO("MlpPolicy", env_id, seed=0, device="cpu")
    start = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - start
    result = evaluate_policy(agent, env_id, n_episodes=episodes, seed=EVAL_SEED)
    return {"mean_return": result.mean_return, "returns": result.returns.tolist(), "train_seconds": seconds}


def worker(part: str, arg: str) -> dict:
    import torch

    torch.set_num_threads(1)
    if part == "reach":
        return reach(arg)
    if part == "reach-stepwise":
        return reach_stepwise()
    if part == "obstacles":
        name, scenarios = arg.split(":")
        return obstacles(name, int(scenarios))
    if part == "pendulum":
        return pendulum(int(arg))
    if part in ("pets", "ppo"):
        env_id, steps, episodes = arg.split(":")
        return (pets if part == "pets" else ppo)(env_id, int(steps), int(episodes))
    raise ValueError(f"unknown part {part}")


def value(run: dict, *keys: str):
    """``run[k1][k2]...``, or None where the worker failed or the key is missing."""
    for key in keys:
        if run.get("status", "ok") != "ok" or key not in run:
            return None
        run = run[key]
    return run


def car_parts(part, args: argparse.Namespace) -> tuple[dict, dict]:
    """The car, real-time and Pendulum parts: (figures, targets)."""
    scenarios = 10 if args.quick else OBSTACLE_SCENARIOS
    episodes = 3 if args.quick else PENDULUM_EPISODES
    planners = ("gradient", "cem", "mppi")
    reach_runs = {name: part(f"reach {name}", "reach", name, 600) for name in planners}
    stepwise = part("reach gradient (stepwise rollout)", "reach-stepwise", "-", 600)
    obstacle_runs = {
        name: part(f"obstacles {name}", "obstacles", f"{name}:{scenarios}", 3600)
        for name in args.obstacle_planners.split(",")
    }
    pendulum_run = part("pendulum mppi", "pendulum", str(episodes), 1200)

    print_table(
        f"Car from rest to {TARGET}, {REACH_STEPS} steps (horizon 20)",
        ["planner", "final error m", "final speed m/s", "step ms median", "p90", "max", "CPU ms median"],
        [
            [
                name,
                value(r, "final_position_error"),
                value(r, "final_speed"),
                value(r, "step_ms", "median"),
                value(r, "step_ms", "p90"),
                value(r, "step_ms", "max"),
                value(r, "step_cpu_ms", "median"),
            ]
            for name, r in {**reach_runs, "gradient (stepwise)": stepwise}.items()
        ],
    )
    print_table(
        f"Two obstacles on the way, {scenarios} seeded scenarios",
        ["planner", "collision-free", "parked", "median final error"],
        [
            [n, value(r, "collision_free"), value(r, "parked"), value(r, "median_final_error")]
            for n, r in obstacle_runs.items()
        ],
    )
    print(f"\nPendulum-v1, MPPI on the torch model: mean return {value(pendulum_run, 'mean_return')}")

    errors = {name: value(r, "final_position_error") for name, r in reach_runs.items()}
    speeds = {name: value(r, "final_speed") for name, r in reach_runs.items()}
    free = {name: value(r, "collision_free") for name, r in obstacle_runs.items()}
    best_free = max((v for v in free.values() if v is not None), default=None)
    gradient_ms = value(reach_runs["gradient"], "step_ms", "median")
    mppi_ms = value(reach_runs["mppi"], "step_ms", "median")
    gradient_cpu_ms = value(reach_runs["gradient"], "step_cpu_ms", "median")
    mppi_cpu_ms = value(reach_runs["mppi"], "step_cpu_ms", "median")
    pendulum_return = value(pendulum_run, "mean_return")
    figures = {
        "target": TARGET,
        "car_final_position_error": errors,
        "car_final_speed": speeds,
        "obstacle_collision_free": best_free,
        "obstacle_scenarios": scenarios,
        "obstacle_collision_free_by_planner": free,
        "gradient_mpc_step_ms": gradient_ms,
        "mppi_step_ms": mppi_ms,
        "step_ms_distribution": {name: value(r, "step_ms") for name, r in reach_runs.items()},
        "gradient_mpc_step_cpu_ms": gradient_cpu_ms,
        "mppi_step_cpu_ms": mppi_cpu_ms,
        "step_cpu_ms_distribution": {name: value(r, "step_cpu_ms") for name, r in reach_runs.items()},
        "gradient_mpc_stepwise_rollout_step_ms": value(stepwise, "step_ms", "median"),
        "pendulum_mppi_return": pendulum_return,
        "pendulum_episodes": episodes,
        "pendulum_mppi_settings": PENDULUM_MPPI,
        "car_runs": {"reach": reach_runs, "reach_stepwise": stepwise, "obstacles": obstacle_runs},
        "pendulum_run": pendulum_run,
    }
    targets = {
        f"car final error < {MAX_ERROR} and speed < {MAX_SPEED}, every planner": all(
            errors[n] is not None and errors[n] < MAX_ERROR and speeds[n] < MAX_SPEED for n in planners
        ),
        f"{scenarios}/{scenarios} collision-free for one planner": best_free == scenarios,
        f"gradient MPC step < {REAL_TIME_MS:g} ms (median)": gradient_ms is not None
        and gradient_ms < REAL_TIME_MS,
        f"MPPI step < {REAL_TIME_MS:g} ms (median)": mppi_ms is not None and mppi_ms < REAL_TIME_MS,
        f"gradient MPC step < {REAL_TIME_MS:g} ms of CPU time (median)": gradient_cpu_ms is not None
        and gradient_cpu_ms < REAL_TIME_MS,
        f"MPPI step < {REAL_TIME_MS:g} ms of CPU time (median)": mppi_cpu_ms is not None
        and mppi_cpu_ms < REAL_TIME_MS,
        f"Pendulum-v1 MPPI mean return >= {PENDULUM_TARGET:g}": pendulum_return is not None
        and pendulum_return >= PENDULUM_TARGET,
    }
    return figures, targets


def pets_parts(part, args: argparse.Namespace) -> tuple[dict, dict]:
    """PETS and PPO at the same real-step budgets: (figures, targets)."""
    learned: dict[str, dict[str, dict]] = {}
    for env_id, budget in PETS_BUDGETS.items():
        steps = budget // 10 if args.quick else budget
        spec = f"{env_id}:{steps}:{PETS_EVAL_EPISODES[env_id]}"
        learned[env_id] = {tool: part(f"{tool} {env_id}", tool, spec, 3600) for tool in ("pets", "ppo")}
    print_table(
        "PETS (MPPI on a probabilistic ensemble) and SB3 PPO, same real-step budget",
        ["env", "steps", "PETS return", "PPO return", "PETS train s", "PPO train s"],
        [
            [
                env_id,
                PETS_BUDGETS[env_id] // (10 if args.quick else 1),
                value(r["pets"], "mean_return"),
                value(r["ppo"], "mean_return"),
                value(r["pets"], "train_seconds"),
                value(r["ppo"], "train_seconds"),
            ]
            for env_id, r in learned.items()
        ],
    )
    figures: dict = {"pets_eval_episodes": PETS_EVAL_EPISODES, "pets_runs": learned}
    targets = {}
    for env_id, key in (("InvertedPendulum-v5", "invertedpendulum"), ("Reacher-v5", "reacher")):
        pets_return = value(learned[env_id]["pets"], "mean_return")
        ppo_return = value(learned[env_id]["ppo"], "mean_return")
        figures[f"pets_{key}_return"] = pets_return
        figures[f"ppo_{key}_return_same_budget"] = ppo_return
        figures[f"pets_{key}_steps"] = PETS_BUDGETS[env_id] // (10 if args.quick else 1)
        beats = pets_return is not None and ppo_return is not None and pets_return > ppo_return
        targets[f"PETS beats PPO on {env_id} at the same budget"] = beats
    ip = figures["pets_invertedpendulum_return"]
    targets[f"PETS InvertedPendulum-v5 return >= {IP_TARGET:g}"] = ip is not None and ip >= IP_TARGET
    return figures, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 obstacle scenarios, 3 pendulum episodes")
    parser.add_argument(
        "--obstacle-planners",
        default=",".join(OBSTACLE_PLANNERS),
        help="planners run on the obstacle scenarios",
    )
    parser.add_argument(
        "--pets", action="store_true", help="also PETS and PPO on InvertedPendulum-v5, Reacher-v5"
    )
    parser.add_argument(
        "--pets-only",
        action="store_true",
        help="only PETS and PPO, added to the car figures already in the results file",
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return

    script = str(Path(__file__).resolve())

    def part(label: str, name: str, arg: str, timeout: float) -> dict:
        start = time.perf_counter()
        result = run_worker(script, [name, arg], timeout=timeout)
        print(f"{label}: {result.get('status')} in {time.perf_counter() - start:.0f} s", flush=True)
        return result

    load_before = os.getloadavg()
    if args.pets_only:
        # The car parts of an earlier full run stay as they were measured (their command is kept with them).
        earlier = json.loads((RESULTS_DIR / ("mpc-quick.json" if args.quick else "mpc.json")).read_text())
        targets = {k: v for k, v in earlier.pop("targets").items() if not k.startswith("PETS")}
        kept = ("machine", "versions", "command", "load_average_before_after", "torch_threads")
        figures = {k: v for k, v in earlier.items() if k not in kept and not k.startswith(("pets", "ppo"))}
        figures["car_parts_command"] = earlier["command"]
        figures["car_parts_load_average_before_after"] = earlier.get("load_average_before_after")
    else:
        figures, targets = car_parts(part, args)
        earlier_path = RESULTS_DIR / ("mpc-quick.json" if args.quick else "mpc.json")
        if not args.pets and earlier_path.exists():
            # The PETS parts of an earlier run stay as they were measured (their command is kept with them).
            earlier = json.loads(earlier_path.read_text())
            figures.update({k: v for k, v in earlier.items() if k.startswith(("pets", "ppo"))})
            targets.update({k: v for k, v in earlier["targets"].items() if k.startswith("PETS")})
            figures["pets_parts_command"] = earlier.get("pets_parts_command", earlier["command"])
    if args.pets or args.pets_only:
        pets_figures, pets_targets = pets_parts(part, args)
        figures.update(pets_figures)
        targets.update(pets_targets)
    figures["torch_threads"] = 1
    figures["load_average_before_after"] = [load_before, os.getloadavg()]
    figures["targets"] = targets
    finish("mpc", figures, args.quick)


if __name__ == "__main__":
    main()
