"""``rlsuite train``: one agent trained into one run directory, resumable after Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import Agent
from core.env_source import make_env
from core.errors import UserError
from core.evaluation import EvalResult, evaluate_policy
from core.metrics import MetricsLogger
from core.rundir import RunDir
from core.seeding import seed_everything
from rlsuite.plots import plot_learning_curve, plot_values
from rlsuite.registry import get_algorithm


@dataclass(frozen=True)
class TrainSpec:
    """Everything needed to rebuild a run: what config.json holds (besides library versions)."""

    algo: str
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    steps: int = 50_000
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict[str, Any], where: Path) -> TrainSpec:
        """Read a spec back from a run's config.json; a missing key is a UserError."""
        names = ("algo", "env_id", "env_kwargs", "hyperparams", "steps", "seed")
        missing = [name for name in names if name not in config]
        if missing:
            raise UserError(f"{where} is not a training run's config (missing {', '.join(missing)})")
        return cls(**{name: config[name] for name in names})


class TrainingInterrupted(Exception):
    """Ctrl-C during training: the checkpoint is saved; the message says how to resume."""


@dataclass
class TrainOutcome:
    """A finished run: the agent, its evaluation and the files written."""

    run: RunDir
    agent: Agent
    evaluation: EvalResult
    media: dict[str, Path]


def default_run_name(algo: str, env_id: str, seed: int) -> str:
    """``q-learning-GridWorld-v0-s0`` for ``q-learning`` on ``rlsuite/GridWorld-v0`` with seed 0."""
    return f"{algo}-{env_id.rsplit('/', 1)[-1]}-s{seed}"


def run_path(out: Path | None, spec: TrainSpec) -> Path:
    """Where the run goes: ``out``, or ``runs/<default name>``."""
    return (
        Path(out) if out is not None else Path("runs") / default_run_name(spec.algo, spec.env_id, spec.seed)
    )


def resumed_spec(path: Path, requested: TrainSpec, steps_given: bool) -> TrainSpec:
    """The saved spec of the run at ``path``; resuming may change only the step budget."""
    run = RunDir.open(path)
    saved = TrainSpec.from_config(run.read_config(), run.config_path)
    for name in ("algo", "env_id"):
        if getattr(saved, name) != getattr(requested, name):
            raise UserError(
                f"cannot resume {run.path}: it was trained with {name} {getattr(saved, name)!r}, "
                f"not {getattr(requested, name)!r}"
            )
    changed = {k: v for k, v in requested.hyperparams.items() if saved.hyperparams.get(k) != v}
    if changed or (requested.env_kwargs and requested.env_kwargs != saved.env_kwargs):
        raise UserError(
            f"cannot resume {run.path} with other hyperparameters or env options: drop --set/--env-kwarg"
        )
    return TrainSpec(**{**asdict(saved), "steps": requested.steps if steps_given else saved.steps})


def train(
    spec: TrainSpec,
    path: Path,
    resume: bool = False,
    eval_episodes: int = 20,
    progress_bar: bool = True,
    callback: Callable[[Agent], bool | None] | None = None,
) -> TrainOutcome:
    """Train ``spec.algo`` on ``spec.env_id`` until it has ``spec.steps`` steps; save, evaluate, plot.

    The run folder ``path`` is created only once the env and the agent are built, so a mistake in the
    request leaves nothing behind. With ``resume``, the agent is loaded from the folder's model and trains
    the remaining steps. ``callback(agent)`` returning False stops learning early (SB3's rule). Ctrl-C saves
    a checkpoint and raises :class:`TrainingInterrupted`.
    """
    agent_class = _agent_class(spec.algo)
    if "seed" in spec.hyperparams and spec.hyperparams["seed"] != spec.seed:
        raise UserError("set the seed with --seed, not --set seed=...")
    seed_everything(spec.seed)
    env = make_env(spec.env_id, **spec.env_kwargs)
    model_path = RunDir(path).model_path
    if resume and model_path.is_file():
        agent = agent_class.load(model_path, env=env)
    else:
        agent = agent_class(env, **{**spec.hyperparams, "seed": spec.seed})
    run = RunDir.create(path.parent, path.name, resume=resume)
    # The full config (defaults included) is saved, so the run rebuilds even if defaults change later.
    spec = TrainSpec(**{**asdict(spec), "hyperparams": asdict(agent.config)})
    run.write_config(asdict(spec))

    with MetricsLogger(run.path) as logger:
        try:
            remaining = max(0, spec.steps - agent.num_timesteps)
            agent.learn(remaining, callback=callback, progress_bar=progress_bar, logger=logger)
        except KeyboardInterrupt:
            agent.save(run.model_path)
            raise TrainingInterrupted(
                f"interrupted at step {agent.num_timesteps} of {spec.steps}; checkpoint saved in {run.path}\n"
                f"resume with: rlsuite train {spec.algo} --env {spec.env_id} --out {run.path} --resume"
            ) from None
    agent.save(run.model_path)

    evaluation = evaluate_policy(
        agent, lambda: make_env(spec.env_id, **spec.env_kwargs), n_episodes=eval_episodes, seed=spec.seed
    )
    run.write_json(run.eval_path.name, evaluation.to_dict())
    return TrainOutcome(run, agent, evaluation, _plot_run(run, spec, agent, env))


def load_agent(run: RunDir) -> tuple[Agent, TrainSpec]:
    """The trained agent of a run folder (its env rebuilt from config.json) and the run's spec."""
    config = run.read_config()
    if config.get("kind") == "task":
        raise UserError(
            f"{run.path} is a {config.get('task')} run, not an agent: its figures are in eval.json"
        )
    spec = TrainSpec.from_config(config, run.config_path)
    if not run.model_path.is_file():
        raise UserError(f"no model in {run.path} (model.pt is missing)")
    env = make_env(spec.env_id, **spec.env_kwargs)
    return _agent_class(spec.algo).load(run.model_path, env=env), spec


def _agent_class(algo: str) -> type[Agent]:
    algorithm = get_algorithm(algo)
    if algorithm.kind != "agent":
        raise UserError(f"{algo!r} is a planner, not a learning agent: use 'rlsuite solve ENV --algo {algo}'")
    return algorithm.load()


def _plot_run(run: RunDir, spec: TrainSpec, agent: Agent, env: gym.Env) -> dict[str, Path]:
    """The learning curve (when the agent played episodes), and for grid worlds the learned values (max_a Q)
    with their greedy arrows."""
    media: dict[str, Path] = {}
    if len(agent.episode_returns):  # an agent trained on a model (the truck controller) plays no episodes
        title = f"{spec.algo} on {spec.env_id}"
        path = run.media_path("learning_curve.png")
        media["learning curve"] = plot_learning_curve(agent.episode_returns, path, title=title)
    grid = env.unwrapped
    if hasattr(agent, "q_table") and hasattr(grid, "cell_to_state"):
        q = np.asarray(agent.q_table)
        title = f"{spec.algo} on {grid.layout.name}: max_a Q and greedy policy"
        media["values"] = plot_values(
            q.max(axis=1), q.argmax(axis=1), grid, run.media_path("values.png"), title
        )
    return media
