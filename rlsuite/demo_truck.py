"""The truck backer-upper in the demo: an emulator learned from random steering, a controller trained by
backpropagation through it, a docking GIF and the paths of ten trucks from random starts.

``truck_section(ctx)`` is the demo's section; ``plot_truck_paths`` and ``record_docking`` make the figures
for any policy (an agent with ``predict``, or a callable) on the env.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from core.env_source import make_env
from core.evaluation import evaluate_policy
from core.policy import Policy, act_one
from core.recording import record_episode
from envs.truck.kinematics import YARD_X, YARD_Y
from envs.truck.outcome import DOCK_TOLERANCE

TRUCK_ID = "rlsuite/TruckBackerUpper-v0"
# The demo's budget: a small emulator and a short curriculum (the benchmark trains the full one).
DEMO_TRANSITIONS = 50_000
DEMO_ITERATIONS = 200
DEMO_EPISODES = 100


def run_truck_episode(policy: Policy, env: Any, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """One episode from the env's start for ``seed``: the ``[T+1, 4]`` kinematic states and the last info."""
    obs, info = env.reset(seed=seed)
    states = [env.unwrapped.state]
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(act_one(policy, obs, env))
        states.append(env.unwrapped.state)
        done = terminated or truncated
    return np.array(states), info


def plot_truck_paths(policy: Policy, path: str | Path, n: int = 10, seed: int = 0, title: str = "") -> Path:
    """The trailer rear's path (and where the cab ended) for ``n`` episodes from random starts."""
    env = make_env(TRUCK_ID)
    fig = Figure(figsize=(8, 4.6))
    ax = fig.add_subplot()
    ax.add_patch(Rectangle((YARD_X[0], YARD_Y[0]), YARD_X[1], YARD_Y[1] - YARD_Y[0], fill=False, lw=1.5))
    target = env.unwrapped.target_y
    ax.plot([0, 0], [target - DOCK_TOLERANCE, target + DOCK_TOLERANCE], color="tab:green", lw=6, label="dock")
    docked = 0
    for i in range(n):
        states, info = run_truck_episode(policy, env, seed + i)
        d = env.unwrapped.kinematics.trailer_length
        rear = states[:, :2] - d * np.stack((np.cos(states[:, 3]), np.sin(states[:, 3])), axis=-1)
        colour = "tab:blue" if info["is_success"] else "tab:red"
        docked += bool(info["is_success"])
        ax.plot(rear[:, 0], rear[:, 1], color=colour, lw=1.2)
        ax.plot(*rear[0], "o", color=colour, ms=4)
        # The truck at its start: trailer rear to hitch, hitch to cab front.
        x, y, theta0, _ = states[0]
        ax.plot([rear[0, 0], x, x + np.cos(theta0)], [rear[0, 1], y, y + np.sin(theta0)], color="0.4", lw=2)
    env.close()
    ax.set_xlim(YARD_X[0] - 2, YARD_X[1] + 1)
    ax.set_ylim(YARD_Y[0] - 1, YARD_Y[1] + 1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (the dock wall is x = 0)")
    ax.set_ylabel("y")
    ax.set_title(title or f"trailer rear paths from {n} random starts ({docked} docked)")
    ax.legend(loc="upper right", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def record_docking(policy: Policy, path: str | Path, seed: int = 0, tries: int = 20) -> dict[str, Any]:
    """A GIF of one docking: the first of ``tries`` seeds from ``seed`` on which the policy docks (or
    the last one tried); returns :func:`core.recording.record_episode`'s summary with its seed."""
    env = make_env(TRUCK_ID)
    chosen = seed
    for candidate in range(seed, seed + tries):
        chosen = candidate
        if run_truck_episode(policy, env, candidate)[1]["is_success"]:
            break
    env.close()
    recording = record_episode(
        policy, lambda: make_env(TRUCK_ID, render_mode="rgb_array"), path, seed=chosen, fps=30
    )
    return {**recording, "seed": chosen}


def truck_section(ctx: Any) -> None:
    """Learn an emulator from random steering, train a controller through it (a short curriculum), and
    show it docking: success on fresh starts, a GIF and ten paths."""
    from agents.truck_controller import TruckController
    from rlsuite.truck_tasks import fit_truck_emulator

    start = time.perf_counter()
    env = make_env(TRUCK_ID)
    kinematics = env.unwrapped.kinematics
    emulator, report, _ = fit_truck_emulator(kinematics, DEMO_TRANSITIONS, ctx.seed)
    ctx.say(f"  emulator: {DEMO_TRANSITIONS:,} random-steering steps, test MSE {report.test_mse[-1]:.2e}")
    agent = TruckController(env, dynamics=emulator, seed=ctx.seed)
    agent.learn(DEMO_ITERATIONS, progress_bar=False)
    seconds = time.perf_counter() - start
    ctx.say(f"  controller: {DEMO_ITERATIONS} BPTT iterations through the emulator ({seconds:.0f} s in all)")
    result = evaluate_policy(agent, TRUCK_ID, n_episodes=DEMO_EPISODES, seed=10_000 + ctx.seed)
    success = result.rates.get("success_rate", result.rates.get("is_success_rate", float("nan")))
    ctx.say(f"  docked {success:.0%} of {DEMO_EPISODES} fresh random starts")
    ctx.files["truck docking"] = Path(
        record_docking(agent, ctx.run.media_path("truck_docking.gif"), ctx.seed)["path"]
    )
    ctx.files["truck paths"] = plot_truck_paths(agent, ctx.run.media_path("truck_paths.png"), seed=ctx.seed)
