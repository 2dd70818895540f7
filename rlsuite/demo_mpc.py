"""Model-predictive control wired to the kinematic car: planners with their settings, one drive loop,
the lab's figure (trajectories per horizon for each cost), ``rlsuite plan car`` and the demo's MPC section.

The benchmark (``benchmarks/bench_mpc.py``), the CLI and the demo all drive the car through this module,
so the figures they report come from the same planners with the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.errors import UserError
from core.recording import write_video
from envs.car.env import CAR_RADIUS, MAX_STEPS, KinematicCarEnv
from envs.car.kinematics import CarKinematics
from planners import CEM, MPPI, GradientMPC, MPCPlanner
from planners.costs import (
    ControlEffort,
    FinalPosition,
    FinalPositionSpeed,
    MeanDistance,
    Obstacles,
    SoftminDistance,
)

if TYPE_CHECKING:
    import gymnasium as gym

    from rlsuite.demo import DemoContext
    from worldmodels.pets import PETS

HORIZON = 20  # 2 s at dt = 0.1
# The settings the benchmark's real-time figures are measured at (horizon 20).
CAR_PLANNERS: dict[str, tuple[type[MPCPlanner], dict[str, Any]]] = {
    "gradient": (GradientMPC, {"iterations": 10, "lr": 0.1, "restarts": 1}),
    "cem": (CEM, {"samples": 300, "elites": 30, "iterations": 5}),
    "mppi": (MPPI, {"samples": 1000, "temperature": 0.1}),
}
OBSTACLE_WEIGHT = 100.0  # a metre of intrusion costs as much as ten metres of distance to the target
CLEARANCE = 0.1  # kept between the car's collision discs and an obstacle
EFFORT_WEIGHT = 0.01


def car_cost(env: KinematicCarEnv) -> FinalPositionSpeed:
    """Park on the env's target (d_T² + s_T²), clear of its obstacles, with a little control effort."""
    cost = FinalPositionSpeed(env.target) + EFFORT_WEIGHT * ControlEffort()
    if env.obstacles:
        circles = np.array(env.obstacles)
        walls = Obstacles(
            circles[:, :2], circles[:, 2], margin=CAR_RADIUS + CLEARANCE, footprint=env.kinematics.footprint
        )
        cost = cost + OBSTACLE_WEIGHT * walls
    return cost


def car_planner(env: KinematicCarEnv, name: str, seed: int = 0, **overrides: Any) -> MPCPlanner:
    """A planner (``gradient``, ``cem`` or ``mppi``) for the env's current target and obstacles."""
    if name not in CAR_PLANNERS:
        raise UserError(f"unknown planner {name!r}; choose one of {', '.join(CAR_PLANNERS)}")
    planner_class, settings = CAR_PLANNERS[name]
    car = env.kinematics
    settings = {"horizon": HORIZON, **settings, **overrides}
    return planner_class(
        car, car_cost(env), action_low=car.action_low, action_high=car.action_high, seed=seed, **settings
    )


@dataclass
class Drive:
    """One episode of a planner driving the car."""

    info: dict[str, Any]
    steps: int
    step_ms: list[float] = field(default_factory=list)  # each plan() call, wall-clock milliseconds
    step_cpu_ms: list[float] = field(default_factory=list)  # the same calls, this process's CPU time
    frames: list[np.ndarray] = field(default_factory=list)


def drive(
    env: KinematicCarEnv,
    planner_name: str,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    record: bool = False,
    **overrides: Any,
) -> Drive:
    """Reset the env (``seed``, ``options``), plan for its scenario and drive until the episode ends."""
    env.reset(seed=seed, options=options)
    planner = car_planner(env, planner_name, seed=seed, **overrides)
    run = Drive(info={}, steps=0)
    if record:
        run.frames.append(env.render())
    done = False
    while not done:
        start, start_cpu = time.perf_counter(), time.process_time()
        action = planner.plan(env.state)
        run.step_ms.append(1000 * (time.perf_counter() - start))
        run.step_cpu_ms.append(1000 * (time.process_time() - start_cpu))
        env.plan_path = planner.plan_states.numpy()
        _, _, terminated, truncated, run.info = env.step(action)
        run.steps += 1
        done = terminated or truncated
        if record:
            run.frames.append(env.render())
    return run


def plan_car(
    target: tuple[float, float],
    planner: str = "mppi",
    obstacles: int = 0,
    gif: str | Path | None = None,
    seed: int = 0,
    max_steps: int = MAX_STEPS,
) -> dict[str, Any]:
    """``rlsuite plan car``: drive from rest at the origin to ``target``; the figures (and a GIF)."""
    render_mode = "rgb_array" if gif else None
    env = KinematicCarEnv(target=target, obstacles=obstacles, max_steps=max_steps, render_mode=render_mode)
    run = drive(env, planner, seed=seed, record=gif is not None)
    env.close()
    if gif is not None:
        write_video(run.frames, gif, fps=env.metadata["render_fps"])
    return {
        "planner": planner,
        "target": list(map(float, env.target)),
        "obstacles": [list(o) for o in env.obstacles],
        "final_position_error": run.info["distance"],
        "final_speed": abs(run.info["speed"]),
        "collision": run.info["collision"],
        "is_success": run.info["is_success"],
        "steps": run.steps,
        "median_step_ms": float(np.median(run.step_ms)),
        **({"gif": str(gif)} if gif is not None else {}),
    }


LAB_COSTS = {
    "final position": lambda target: FinalPosition(target),
    "final position and speed": lambda target: FinalPositionSpeed(target),
    "mean distance": lambda target: MeanDistance(target),
    "softmin of distances": lambda target: SoftminDistance(target),
}
LAB_HORIZONS = (5, 10, 15)
LAB_TARGET = (5.0, 1.0)
LAB_STEPS = 60


def lab_trajectories(
    steps: int = LAB_STEPS, horizons: tuple[int, ...] = LAB_HORIZONS
) -> dict[str, dict[int, np.ndarray]]:
    """The lab's experiment: gradient MPC from rest with each cost and horizon; ``[steps+1, 2]`` paths."""
    car = CarKinematics()
    paths: dict[str, dict[int, np.ndarray]] = {}
    for name, make_cost in LAB_COSTS.items():
        paths[name] = {}
        for horizon in horizons:
            planner = GradientMPC(car, make_cost(LAB_TARGET), horizon, car.action_low, car.action_high)
            state = torch.zeros(1, 4, dtype=torch.float64)
            points = [state[0, :2].clone()]
            for _ in range(steps):
                action = planner.plan(state[0])
                state = car.step(state, action.to(torch.float64).unsqueeze(0))
                points.append(state[0, :2].clone())
            paths[name][horizon] = torch.stack(points).numpy()
    return paths


def plot_lab_trajectories(paths: dict[str, dict[int, np.ndarray]], path: str | Path) -> Path:
    """One panel per cost, one path per horizon, the target as a cross."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (name, by_horizon) in zip(axes, paths.items(), strict=True):
        for horizon, points in by_horizon.items():
            ax.plot(points[:, 0], points[:, 1], label=f"T = {horizon}")
        ax.plot(*LAB_TARGET, "kx", markersize=10, markeredgewidth=2)
        ax.set_title(name)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(alpha=0.3)
    axes[0].legend()
    some_path = next(iter(next(iter(paths.values())).values()))
    steps = len(some_path) - 1
    fig.suptitle(f"Gradient MPC on the kinematic car, {steps} steps from rest to {LAB_TARGET}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def mpc_section(ctx: DemoContext) -> None:
    """Drive the car to (5, 1) with each planner; round two obstacles with MPPI; the lab's figure."""
    env = KinematicCarEnv(target=LAB_TARGET)
    for name in CAR_PLANNERS:
        run = drive(env, name)
        ctx.say(
            f"  {name:8s}: final error {run.info['distance']:.3f} m, speed {abs(run.info['speed']):.3f} m/s, "
            f"{np.median(run.step_ms):.1f} ms per step"
        )
    summary = plan_car(LAB_TARGET, "mppi", obstacles=2, gif=ctx.run.path / "car_obstacles.gif", seed=ctx.seed)
    verdict = "collided" if summary["collision"] else "no collision"
    ctx.say(f"  mppi round two obstacles: {verdict}, final error {summary['final_position_error']:.3f} m")
    ctx.files["car gif"] = Path(summary["gif"])
    ctx.files["lab figure"] = plot_lab_trajectories(lab_trajectories(), ctx.run.path / "mpc_horizons.png")


# PETS on MuJoCo: the known cost of each task (PETS gives the planner the task's cost; the model learns
# only the dynamics), the planner, and the loop's schedule.
def inverted_pendulum_cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Keep the pole upright (obs (x, θ, ẋ, θ̇); the env ends at |θ| > 0.2) and the cart near the centre
    and slow (it drifts into the end of its rail otherwise, at |x| = 1, and the pole falls there)."""
    after = states[:, 1:]
    x, theta, speed = after[..., 0], after[..., 1], after[..., 2]
    fallen = (theta.abs() > 0.2).float()
    return (theta.pow(2) + x.pow(2) + 0.1 * speed.pow(2) + 10.0 * fallen).sum(-1)


def reacher_cost(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Reacher-v5's reward, negated: ||fingertip − target|| (obs[8:10]) + ||a||² per step."""
    distance = states[:, 1:, 8:10].pow(2).sum(-1).sqrt()
    return distance.sum(-1) + actions.pow(2).sum(dim=(-2, -1))


@dataclass(frozen=True)
class PETSTask:
    cost: Any
    horizon: int
    mppi: dict[str, Any]
    pets: dict[str, Any]


PETS_TASKS = {
    "InvertedPendulum-v5": PETSTask(
        inverted_pendulum_cost,
        horizon=15,
        mppi={"samples": 300, "temperature": 0.3, "noise_std": 1.0},
        pets={"random_steps": 250, "refit_every": 250, "epochs": 20, "ensemble": {"hidden": (128, 128)}},
    ),
    "Reacher-v5": PETSTask(
        reacher_cost,
        horizon=15,
        # Small noise: every perturbation pays its own ||a||², so wide noise leaves MPPI at the zero plan.
        mppi={"samples": 300, "temperature": 1.0, "noise_std": 0.3},
        pets={"random_steps": 500, "refit_every": 1000, "epochs": 20, "ensemble": {"hidden": (128, 128)}},
    ),
}


def pets_settings(env_id: str | None) -> dict[str, Any]:
    """The settings PETS is tuned with on ``env_id``, flat: ``horizon``, MPPI's ``samples``, ``temperature``
    and ``noise_std``, the loop's ``random_steps``, ``refit_every`` and ``epochs``, the ensemble's ``hidden``.
    """
    if env_id not in PETS_TASKS:
        raise UserError(
            f"PETS plans with a known cost, which rlsuite has for {' and '.join(PETS_TASKS)} only; "
            f"not for {env_id!r}"
        )
    task = PETS_TASKS[env_id]
    loop = {key: value for key, value in task.pets.items() if key != "ensemble"}
    return {"horizon": task.horizon, **task.mppi, **loop, **task.pets["ensemble"]}


def make_pets(env: gym.Env | str, seed: int = 0, **overrides: Any) -> PETS:
    """PETS with MPPI on a probabilistic ensemble, for an env of ``PETS_TASKS``; ``overrides`` replace any of
    its :func:`pets_settings`."""
    import gymnasium as gym

    from worldmodels.pets import PETS

    env_id = env if isinstance(env, str) else (env.spec.id if env.spec is not None else None)
    settings = pets_settings(env_id)
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise UserError(f"unknown PETS setting {', '.join(unknown)}; valid: {', '.join(settings)}")
    settings.update(overrides)
    env = gym.make(env) if isinstance(env, str) else env
    cost = PETS_TASKS[env_id].cost
    low, high = env.action_space.low, env.action_space.high
    mppi = {key: settings[key] for key in ("samples", "temperature", "noise_std")}

    def make_planner(model: Any) -> MPPI:
        return MPPI(model, cost, settings["horizon"], low, high, seed=seed, **mppi)

    loop = {key: settings[key] for key in ("random_steps", "refit_every", "epochs")}
    return PETS(env, make_planner, seed=seed, ensemble={"hidden": settings["hidden"]}, **loop)


def evaluate_planning_agent(agent: Any, env_id: str, episodes: int, seed: int) -> list[float]:
    """Returns of ``episodes`` episodes (reset with ``seed + i``); the plan is forgotten at each start."""
    import gymnasium as gym

    env = gym.make(env_id)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        agent.planner.reset()
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                action, _ = agent.predict(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns
