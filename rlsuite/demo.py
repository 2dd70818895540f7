"""``rlsuite demo``: a short tour, one section per family, each writing its figures into the demo folder.

A section is a function ``(DemoContext) -> None`` that prints a few lines and records the files it wrote;
adding a family to the tour is one entry in ``SECTIONS``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import gymnasium as gym
import numpy as np

from agents.base import Agent
from agents.dqn_callbacks import StopOnTrainingReturn
from agents.tabular import PlanningResult, policy_iteration, q_iteration, value_iteration
from agents.tabular.planning import evaluate_policy_exactly
from core.env_source import make_env
from core.recording import record_episode
from core.rundir import RunDir
from envs import GRIDWORLD_ID, GridWorldEnv
from rlsuite.demo_mpc import mpc_section
from rlsuite.plots import plot_residuals, plot_values
from rlsuite.recipes import DQN_CARTPOLE, PPO_CARTPOLE
from rlsuite.training import TrainSpec, train

GAMMA = 0.9
MAZE_GAMMA = 0.99  # the maze's path is long: with 0.9 the start's value would round to zero
PLANNERS = {"vi": value_iteration, "pi": policy_iteration, "qi": q_iteration}
DEMO_MARKER = "demo"


@dataclass
class DemoContext:
    """What sections share: the demo folder, the seed, and the files written so far (label -> path)."""

    run: RunDir
    seed: int = 0
    files: dict[str, Path] = field(default_factory=dict)

    def say(self, line: str = "") -> None:
        click.echo(line)


def plan_book(ctx: DemoContext) -> None:
    """Solve the textbook grid with VI, PI and QI; check that they agree; plot values and residuals."""
    grid = make_env(GRIDWORLD_ID, layout="book").unwrapped
    results: dict[str, PlanningResult] = {name: plan(grid.mdp(), GAMMA) for name, plan in PLANNERS.items()}
    for name, result in results.items():
        ctx.say(f"  {name}: {result.iterations:4d} iterations, final residual {result.residual:.1e}")
    reference = results["vi"]
    for name in ("pi", "qi"):
        gap = float(np.max(np.abs(results[name].values - reference.values)))
        same = np.array_equal(results[name].policy, reference.policy)
        ctx.say(f"  {name} vs vi: max value gap {gap:.1e}, {'same' if same else 'DIFFERENT'} greedy policy")
    start = grid.cell_to_state[grid.layout.start]
    ctx.say(f"  optimal value of the start cell: {reference.values[start]:.3f}")
    ctx.files["book values"] = plot_values(
        reference.values,
        reference.policy,
        grid,
        ctx.run.media_path("book_values.png"),
        "Book grid: V* and π*",
    )
    ctx.files["residuals"] = plot_residuals(
        {name: result.residuals for name, result in results.items()}, ctx.run.media_path("residuals.png")
    )


def plan_maze(ctx: DemoContext) -> None:
    """Plan a generated 21x21 maze with value iteration."""
    grid = make_env(GRIDWORLD_ID, layout="maze-21", layout_seed=ctx.seed).unwrapped
    mdp = grid.mdp()
    result = value_iteration(mdp, MAZE_GAMMA)
    ctx.say(f"  {mdp.n_states} states: {result.iterations} iterations in {result.seconds:.3f} s")
    ctx.say(f"  value of the start cell: {result.values[grid.cell_to_state[grid.layout.start]]:.3f}")
    ctx.files["maze values"] = plot_values(
        result.values,
        result.policy,
        grid,
        ctx.run.media_path("maze_values.png"),
        f"maze-21 (gamma {MAZE_GAMMA}): V* and π*",
    )


def q_learning_book(ctx: DemoContext) -> None:
    """Learn the book grid with tabular Q-learning and compare it with the planned optimum."""
    # Two cells off the optimal path have near-ties (their best two actions differ by 0.01 in Q*), so
    # exploration stays high: they must be visited often enough to tell the two apart.
    hyperparams = {"gamma": GAMMA, "exploration_final_eps": 0.5, "exploration_fraction": 0.1}
    spec = TrainSpec(
        "q-learning", GRIDWORLD_ID, {"layout": "book"}, hyperparams, steps=500_000, seed=ctx.seed
    )
    outcome = train(spec, ctx.run.path / "q-learning", eval_episodes=100, progress_bar=False)
    agent, evaluation = outcome.agent, outcome.evaluation
    ctx.say(f"  {spec.steps} steps, {len(agent.episode_returns)} episodes")
    _compare_with_optimum(ctx, agent, agent.env.unwrapped)
    ctx.say(
        f"  mean return over {len(evaluation.returns)} episodes: "
        f"{evaluation.mean_return:.3f} ± {evaluation.std_return:.3f}"
    )
    ctx.files["q-learning run"] = outcome.run.path
    ctx.files.update({f"q-learning {label}": path for label, path in outcome.media.items()})
    gif = record_episode(
        agent, lambda: _book_env("rgb_array"), outcome.run.media_path("greedy.gif"), seed=ctx.seed
    )
    ctx.files["q-learning gif"] = Path(gif["path"])


def _compare_with_optimum(ctx: DemoContext, agent: Agent, grid: GridWorldEnv) -> None:
    """Say where the agent's greedy policy differs from the optimal one, and what that costs exactly."""
    mdp = grid.mdp()
    optimum = value_iteration(mdp, GAMMA)
    learned, _ = agent.predict(np.arange(mdp.n_states))
    decisions = np.flatnonzero(~mdp.terminal)
    differ = decisions[learned[decisions] != optimum.policy[decisions]]
    ctx.say(
        f"  greedy policy matches the optimum in {len(decisions) - len(differ)} of {len(decisions)} states"
    )
    for s in differ:
        cell = tuple(int(i) for i in grid.state_to_cell[s])
        gap = optimum.values[s] - optimum.q_values[s, learned[s]]
        chosen, best = mdp.action_names[learned[s]], mdp.action_names[optimum.policy[s]]
        ctx.say(f"    cell {cell}: {chosen} instead of {best} (Q* lower by {gap:.3f})")
    start = grid.cell_to_state[grid.layout.start]
    exact = evaluate_policy_exactly(mdp, learned, GAMMA)[start]
    ctx.say(
        f"  exact value of the learned policy at the start: {exact:.3f} (optimum {optimum.values[start]:.3f})"
    )


def deep_agent_section(
    algo: str,
    env_id: str,
    steps: int,
    hyperparams: dict[str, Any] | None = None,
    stop_at_return: float | None = None,
    fps: int = 50,
) -> Callable[[DemoContext], None]:
    """A section that trains ``algo`` on ``env_id`` for at most ``steps`` steps (stopping once the last 10
    training episodes average ``stop_at_return``), evaluates the greedy policy and records a GIF."""

    def section(ctx: DemoContext) -> None:
        spec = TrainSpec(algo, env_id, {}, dict(hyperparams or {}), steps=steps, seed=ctx.seed)
        stop = None if stop_at_return is None else StopOnTrainingReturn(stop_at_return, episodes=10)
        start = time.perf_counter()
        outcome = train(spec, ctx.run.path / algo, eval_episodes=20, progress_bar=False, callback=stop)
        seconds = time.perf_counter() - start
        returns = outcome.agent.episode_returns
        first, last = np.mean(returns[:10]), np.mean(returns[-10:])
        ctx.say(
            f"  {outcome.agent.num_timesteps} steps in {seconds:.1f} s; mean return of the first 10 episodes "
            f"{first:.1f}, of the last 10 {last:.1f}"
        )
        evaluation = outcome.evaluation
        ctx.say(
            f"  greedy policy over {len(evaluation.returns)} episodes: "
            f"{evaluation.mean_return:.1f} ± {evaluation.std_return:.1f}"
        )
        ctx.files[f"{algo} run"] = outcome.run.path
        ctx.files.update({f"{algo} {label}": path for label, path in outcome.media.items()})
        gif = record_episode(
            outcome.agent, env_id, outcome.run.media_path("greedy.gif"), seed=ctx.seed, fps=fps
        )
        ctx.files[f"{algo} gif"] = Path(gif["path"])

    return section


def world_model_section(ctx: DemoContext) -> None:
    """Train the pixel world model (VAE + GRU) on book-grid frames, and dream a held-out rollout."""
    from rlsuite.tasks import TaskSpec, run_task

    spec = TaskSpec(
        "pixel-wm", env_id=GRIDWORLD_ID, env_kwargs={"layout": "book", "noise": 0.0}, seed=ctx.seed
    )
    start = time.perf_counter()
    run, result = run_task(spec, ctx.run.path / "pixel-wm", progress_bar=False)
    figures = result.summary
    height, width, _ = figures["frame_shape"]
    seconds = time.perf_counter() - start
    ctx.say(f"  {figures['sequences']} random-action sequences of {height}x{width} frames, {seconds:.1f} s")
    ctx.say(
        "  dreamed-frame MSE over copying the first frame, by steps open loop: "
        + ", ".join(f"{figures[f'mse_ratio_vs_copy_{k}']:.2f} after {k}" for k in (1, 5, 10))
    )
    ctx.files["pixel-wm run"] = run.path
    ctx.files["pixel-wm dream"] = result.media["dream"]


def _book_env(render_mode: str | None = None) -> gym.Env:
    return make_env(GRIDWORLD_ID, layout="book", render_mode=render_mode)


Section = tuple[str, Callable[[DemoContext], None]]

SECTIONS: list[Section] = [
    ("Exact planning on the book grid (gamma 0.9, noise 0.2)", plan_book),
    (f"Value iteration on a generated 21x21 maze (gamma {MAZE_GAMMA})", plan_maze),
    ("Tabular Q-learning on the book grid", q_learning_book),
    (
        "DQN on CartPole-v1 (replay, target network, Double DQN, 3-step returns)",
        deep_agent_section("dqn", "CartPole-v1", 50_000, DQN_CARTPOLE, stop_at_return=475),
    ),
    (
        "PPO on CartPole-v1 (clipped surrogate, GAE)",
        deep_agent_section("ppo", "CartPole-v1", 60_000, PPO_CARTPOLE, stop_at_return=475),
    ),
    ("Model-predictive control of the kinematic car: gradient, CEM, MPPI", mpc_section),
    (
        "A pixel world model dreams the book grid (VAE + GRU, real rollout beside the dream)",
        world_model_section,
    ),
]


def open_demo_dir(out: Path) -> RunDir:
    """A fresh demo folder; an earlier demo's folder is replaced, any other non-empty folder refused."""
    out = Path(out)
    if (out / "config.json").is_file() and RunDir.open(out).read_config().get("command") == DEMO_MARKER:
        shutil.rmtree(out)
    return RunDir.create(out.parent, out.name)


def run_demo(out: Path, seed: int = 0) -> DemoContext:
    """Run every section in order, then print where the files are."""
    ctx = DemoContext(open_demo_dir(out), seed)
    ctx.run.write_config({"command": DEMO_MARKER, "seed": seed, "sections": [title for title, _ in SECTIONS]})
    start = time.perf_counter()
    for number, (title, section) in enumerate(SECTIONS, start=1):
        ctx.say(f"[{number}/{len(SECTIONS)}] {title}")
        section(ctx)
        ctx.say()
    ctx.say(f"Done in {time.perf_counter() - start:.1f} s. Files:")
    for label, path in ctx.files.items():
        ctx.say(f"  {label + ':':<28} {path}")
    return ctx
