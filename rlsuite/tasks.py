"""Training tasks that are not RL agents: supervised and self-supervised models, learned dynamics.

``rlsuite train TASK [--data SPEC] [--env ID] [--steps N] [--set key=value ...]`` runs one into a run
folder, like an agent. A task is registered with kind ``"task"`` and a target function

    fn(spec: TaskSpec, run: RunDir, resume: bool, progress_bar: bool) -> TaskResult

that trains into ``run`` (model, metrics, media) and returns its figures; ``eval.json`` holds them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.rundir import RunDir
from core.seeding import seed_everything
from rlsuite.registry import get_algorithm

TASK_KIND = "task"


@dataclass(frozen=True)
class TaskSpec:
    """What config.json holds for a task run (besides library versions).

    ``data`` is the ``--data`` string (e.g. ``digits``, ``frames:ENV_ID``, ``mnist:PATH``); ``steps`` is
    the task's budget in its own unit (epochs, or env steps of data), ``None`` for the task's default.
    """

    task: str
    data: str | None = None
    env_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict[str, Any], where: Path) -> TaskSpec:
        """Read a spec back from a task run's config.json; a missing key is a UserError."""
        names = ("task", "data", "env_id", "env_kwargs", "hyperparams", "steps", "seed")
        missing = [name for name in names if name not in config]
        if missing:
            raise UserError(f"{where} is not a task run's config (missing {', '.join(missing)})")
        return cls(**{name: config[name] for name in names})


@dataclass
class TaskResult:
    """A finished task: its figures (printed, and written to eval.json) and the files it wrote.

    ``hyperparams``, when given, is the full set the task used (defaults included); it replaces the
    requested ones in config.json so the run rebuilds even if defaults change later.
    """

    summary: dict[str, Any]
    media: dict[str, Path] = field(default_factory=dict)
    hyperparams: dict[str, Any] | None = None


TaskFn = Callable[[TaskSpec, RunDir, bool, bool], TaskResult]


def is_task(name: str) -> bool:
    """Whether ``name`` is a registered task (not an agent or a planner); unknown names are a UserError."""
    return get_algorithm(name).kind == TASK_KIND


def default_task_run_name(spec: TaskSpec) -> str:
    """``vicreg-digits-s0``, ``truck-emulator-TruckBackerUpper-v0-s0``: the task and what it learns from."""
    source = spec.data or spec.env_id or "default"
    source = source.rsplit("/", 1)[-1].replace(":", "-")
    return f"{spec.task}-{source}-s{spec.seed}"


def resumed_task_spec(path: Path, requested: TaskSpec, steps_given: bool) -> TaskSpec:
    """The saved spec of the task run at ``path``; resuming may change only the budget."""
    run = RunDir.open(path)
    saved = TaskSpec.from_config(run.read_config(), run.config_path)
    for name in ("task", "data", "env_id"):
        asked = getattr(requested, name)
        if asked is not None and asked != getattr(saved, name):
            was = getattr(saved, name)
            raise UserError(f"cannot resume {run.path}: it was trained with {name} {was!r}, not {asked!r}")
    if requested.hyperparams or requested.env_kwargs:
        raise UserError(f"cannot resume {run.path} with other hyperparameters or env options: drop --set")
    return TaskSpec(**{**asdict(saved), "steps": requested.steps if steps_given else saved.steps})


def run_task(
    spec: TaskSpec, path: Path, resume: bool = False, progress_bar: bool = True
) -> tuple[RunDir, TaskResult]:
    """Run ``spec.task`` into the folder ``path``; write config.json and eval.json.

    A new folder that the task rejects (a bad ``--data``, an unknown hyperparameter) is removed again, so a
    mistake in the request leaves nothing behind.
    """
    algorithm = get_algorithm(spec.task, kind=TASK_KIND)
    task: TaskFn = algorithm.load()
    if "seed" in spec.hyperparams:
        raise UserError("set the seed with --seed, not --set seed=...")
    seed_everything(spec.seed)
    existed = path.exists()
    run = RunDir.create(path.parent, path.name, resume=resume)
    run.write_config({"kind": TASK_KIND, **asdict(spec)})
    try:
        result = task(spec, run, resume, progress_bar)
    except UserError:
        if not resume and not existed:
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    if result.hyperparams is not None:
        run.write_config({"kind": TASK_KIND, **asdict(spec), "hyperparams": result.hyperparams})
    run.write_json(run.eval_path.name, result.summary)
    return run, result
