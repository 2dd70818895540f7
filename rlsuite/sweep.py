"""``rlsuite sweep``: seed and hyperparameter sweeps as Ray Tune trials, each one a normal run folder.

A sweep file (YAML) names the algorithm, the env, fixed hyperparameters, a search space, the seeds, the
metric and the step budget::

    name: cartpole-dqn-lr
    algo: dqn
    env: CartPole-v1
    steps: 20000
    seeds: [0, 1, 2, 3, 4]            # or a count: 5 means 0..4
    hyperparams: {learning_starts: 1000}
    search:
      learning_rate: {grid: [1.0e-3, 2.3e-3]}   # or {choice: [..]}, {uniform: [a, b]}, {loguniform: [a, b]}
    metric: episode_return_mean       # mean of the last 10 training episodes, or eval_mean_return
    mode: max
    early_stopping: {grace_period: 5000, reduction_factor: 2}   # ASHA; leave out to run every trial in full

Every trial trains through :func:`rlsuite.training.train` into ``<sweep>/runs/<trial name>/`` (so ``rlsuite
eval`` and ``rlsuite report`` read it like any run), while the trial reports its progress from that folder's
metrics.csv to Tune, which is what ASHA decides on. Ray is an optional extra: parsing a sweep file needs
only PyYAML, running one needs ``pip install 'rlsuite[distributed]'``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import click

from core.atomic import atomic_write_text
from core.errors import UserError
from core.json_text import json_text
from core.validation import check_positive_int, check_seed
from rlsuite.options import format_value
from rlsuite.registry import get_algorithm

INSTALL_HINT = "pip install 'rlsuite[distributed]'"
METRICS = ("episode_return_mean", "eval_mean_return")
DIMENSION_KINDS = ("grid", "choice", "uniform", "loguniform")
RECENT_EPISODES = 10  # episode_return_mean averages the training returns of this many last episodes
POLL_SECONDS = 1.0
EXIT_INTERRUPTED = 130  # how often a trial reads its metrics.csv and reports progress to Tune
_KEYS = {
    "name",
    "algo",
    "env",
    "env_kwargs",
    "steps",
    "seeds",
    "hyperparams",
    "search",
    "metric",
    "mode",
    "num_samples",
    "max_concurrent",
    "eval_episodes",
    "early_stopping",
}
# PyYAML reads 1e-3 (no dot) as a string: YAML 1.1 wants 1.0e-3. Users write 1e-3, so we read it as a number.
_EXPONENT_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


@dataclass(frozen=True)
class Dimension:
    """A searched hyperparameter: ``grid`` and ``choice`` list values, ``uniform``, ``loguniform`` a range."""

    kind: str
    values: tuple[Any, ...]

    def to_tune(self) -> Any:
        """The Ray Tune search-space object for this dimension."""
        from ray import tune

        if self.kind == "grid":
            return tune.grid_search(list(self.values))
        if self.kind == "choice":
            return tune.choice(list(self.values))
        if self.kind == "uniform":
            return tune.uniform(*self.values)
        return tune.loguniform(*self.values)


@dataclass(frozen=True)
class EarlyStopping:
    """ASHA (Li et al. 2020): at grace_period · reduction_factor^k steps, keep the best 1/reduction_factor."""

    grace_period: int
    reduction_factor: float = 2.0


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep file (with the command line's overrides applied)."""

    name: str
    algo: str
    env_id: str
    steps: int
    seeds: tuple[int, ...]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Dimension] = field(default_factory=dict)
    metric: str = "episode_return_mean"
    mode: str = "max"
    num_samples: int = 1
    max_concurrent: int | None = None
    eval_episodes: int = 10
    early_stopping: EarlyStopping | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (what ``sweep.json`` in the sweep folder holds)."""
        return json.loads(json.dumps(asdict(self)))


class SweepInterrupted(Exception):
    """Ctrl-C during a sweep: Tune saved its state; the message says how to resume."""


@dataclass
class TrialOutcome:
    """How one trial ended: ``finished``, ``stopped early`` (by ASHA) or ``error`` (with its message)."""

    name: str
    status: str
    seed: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    run: str
    error: str | None = None


def load_sweep(path: Path, num_samples: int | None = None, max_concurrent: int | None = None) -> SweepConfig:
    """Read and check the sweep file at ``path``; every mistake is a UserError naming the key."""
    try:
        import yaml
    except ImportError:
        raise UserError(f"rlsuite sweep needs PyYAML and Ray: {INSTALL_HINT}") from None
    path = Path(path)
    if not path.is_file():
        raise UserError(f"sweep file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise UserError(f"malformed YAML in {path}: {' '.join(str(error).split())}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a mapping of sweep keys (algo, env, steps, ...)")
    raw = _numbers(raw)
    if num_samples is not None:
        raw["num_samples"] = num_samples
    if max_concurrent is not None:
        raw["max_concurrent"] = max_concurrent
    return parse_sweep(raw, default_name=path.stem)


def parse_sweep(raw: dict[str, Any], default_name: str = "sweep") -> SweepConfig:
    """Check a sweep mapping (a parsed sweep file) and build its :class:`SweepConfig`."""
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise UserError(f"unknown sweep key {', '.join(unknown)}; valid: {', '.join(sorted(_KEYS))}")
    for key in ("algo", "env", "steps"):
        if key not in raw:
            raise UserError(f"the sweep file needs '{key}'")
    algo = str(raw["algo"])
    algorithm = get_algorithm(algo, kind="agent")
    config_fields = {f.name for f in fields(algorithm.load().config_class)}
    env_id = _check_env(raw["env"])
    hyperparams = _mapping(raw.get("hyperparams"), "hyperparams")
    search = {str(k): _dimension(str(k), v) for k, v in _mapping(raw.get("search"), "search").items()}
    for name in [*hyperparams, *search]:
        if name == "seed":
            raise UserError("give seeds with the sweep key 'seeds', not as a hyperparameter")
        if name not in config_fields:
            valid = ", ".join(sorted(config_fields - {"seed"}))
            raise UserError(f"unknown hyperparameter {name!r} for {algo}; valid: {valid}")
    both = sorted(set(hyperparams) & set(search))
    if both:
        raise UserError(f"{', '.join(both)} is both fixed (hyperparams) and searched (search)")
    steps = check_positive_int(raw["steps"], "steps")
    metric = raw.get("metric", "episode_return_mean")
    if metric not in METRICS:
        raise UserError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    mode = raw.get("mode", "max")
    if mode not in ("max", "min"):
        raise UserError(f"mode must be max or min, got {mode!r}")
    early_stopping = _early_stopping(raw.get("early_stopping"), steps, metric)
    max_concurrent = raw.get("max_concurrent")
    name = str(raw.get("name", default_name))
    if not name or "/" in name or name in (".", ".."):
        raise UserError(f"sweep name must be a plain folder name, got {name!r}")
    return SweepConfig(
        name=name,
        algo=algo,
        env_id=env_id,
        steps=steps,
        seeds=_seeds(raw.get("seeds", 1)),
        env_kwargs=_mapping(raw.get("env_kwargs"), "env_kwargs"),
        hyperparams=hyperparams,
        search=search,
        metric=metric,
        mode=mode,
        num_samples=check_positive_int(raw.get("num_samples", 1), "num_samples"),
        max_concurrent=None
        if max_concurrent is None
        else check_positive_int(max_concurrent, "max_concurrent"),
        eval_episodes=check_positive_int(raw.get("eval_episodes", 10), "eval_episodes"),
        early_stopping=early_stopping,
    )


def _numbers(value: Any) -> Any:
    """``"1e-3"`` -> ``0.001`` throughout a parsed YAML document (see ``_EXPONENT_NUMBER``)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and _EXPONENT_NUMBER.match(value):
        return float(value)
    return value


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"sweep key '{key}' must be a mapping of names to values, got {value!r}")
    return {str(k): v for k, v in value.items()}


def _check_env(env_id: Any) -> str:
    """An env id that Gymnasium knows (checked before any trial starts)."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the rlsuite/ envs)

    try:
        gym.spec(str(env_id))
    except gym.error.Error as error:
        raise UserError(
            f"unknown environment in the sweep file: {env_id} ({' '.join(str(error).split())})"
        ) from None
    return str(env_id)


def _dimension(name: str, spec: Any) -> Dimension:
    """``{grid: [...]}``, ``{choice: [...]}``, ``{uniform: [lo, hi]}`` or ``{loguniform: [lo, hi]}``."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DIMENSION_KINDS:
        raise UserError(
            f"search.{name} must be one of {{grid: [...]}}, {{choice: [...]}}, {{uniform: [lo, hi]}}, "
            f"{{loguniform: [lo, hi]}}; got {spec!r}"
        )
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise UserError(f"search.{name}.{kind} must be a non-empty list, got {values!r}")
    if kind in ("uniform", "loguniform"):
        numbers = len(values) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        )
        if not numbers or not values[0] < values[1] or (kind == "loguniform" and values[0] <= 0):
            positive = " positive" if kind == "loguniform" else ""
            raise UserError(f"search.{name}.{kind} must be [lo, hi] with{positive} lo < hi, got {values!r}")
    return Dimension(kind, tuple(values))


def _seeds(value: Any) -> tuple[int, ...]:
    """A list of seeds, or a count ``n`` meaning seeds ``0 .. n-1``."""
    if isinstance(value, list):
        if not value:
            raise UserError("seeds must not be empty")
        seeds = tuple(check_seed(seed) for seed in value)
        if len(set(seeds)) != len(seeds):
            raise UserError(f"seeds must be distinct, got {value!r}")
        return seeds
    return tuple(range(check_positive_int(value, "seeds (a count)")))


def _early_stopping(value: Any, steps: int, metric: str) -> EarlyStopping | None:
    if value is None:
        return None
    options = _mapping(value, "early_stopping")
    unknown = sorted(set(options) - {"grace_period", "reduction_factor"})
    if unknown:
        raise UserError(
            f"unknown early_stopping key {', '.join(unknown)}; valid: grace_period, reduction_factor"
        )
    if metric != "episode_return_mean":
        raise UserError("early_stopping decides on training progress: it needs metric: episode_return_mean")
    grace = check_positive_int(
        options.get("grace_period", max(1, steps // 10)), "early_stopping.grace_period"
    )
    if grace >= steps:
        raise UserError(f"early_stopping.grace_period ({grace}) must be below steps ({steps})")
    factor = options.get("reduction_factor", 2.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 1:
        raise UserError(f"early_stopping.reduction_factor must be a number above 1, got {factor!r}")
    return EarlyStopping(grace, float(factor))


# --- one trial ----------------------------------------------------------------------------------------


def trial_run_name(index: int, config: dict[str, Any]) -> str:
    """``003-learning_rate=0.001-seed=1``: the trial's number, then its searched values and its seed."""
    parts = [f"{key}={format_value(value)}" for key, value in sorted(config.items()) if key != "seed"]
    name = "-".join([f"{index:03d}", *parts, f"seed={config['seed']}"])
    return re.sub(r"[^\w.=+-]", "_", name)


def read_progress(run_path: Path) -> dict[str, float] | None:
    """Training progress from a run folder's metrics.csv: the last step, the episodes so far and the mean
    return of the last ``RECENT_EPISODES`` of them; None before the first episode ends.

    The file may be appended to while we read it, so a last line without its newline is left out.
    """
    path = Path(run_path) / "metrics.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    rows = [row for row in csv.DictReader(lines) if row.get("episode_return")]
    if not rows:
        return None
    recent = [float(row["episode_return"]) for row in rows[-RECENT_EPISODES:]]
    return {
        "step": int(float(rows[-1]["step"])),
        "episodes": len(rows),
        "episode_return_mean": sum(recent) / len(recent),
    }


def run_trial(config: dict[str, Any], sweep: SweepConfig, runs_dir: str) -> None:
    """One Tune trial: train ``config`` (searched values and a seed) into its run folder, reporting progress.

    ``train`` runs in a thread while this function (Tune's) reads the folder's metrics.csv and reports to
    Tune, so the training itself is exactly that of ``rlsuite train``: the same seed gives the same run
    in or out of a sweep. A folder left half-written by an interrupted sweep is started over (Tune restarts
    such a trial from scratch); a finished one is reported, not trained again.
    """
    from ray import tune

    from rlsuite.training import TrainSpec

    params = {key: value for key, value in config.items() if key != "seed"}
    spec = TrainSpec(
        sweep.algo,
        sweep.env_id,
        dict(sweep.env_kwargs),
        {**sweep.hyperparams, **params},
        sweep.steps,
        config["seed"],
    )
    path = Path(runs_dir) / tune.get_context().get_trial_name()
    eval_path = path / "eval.json"
    if not eval_path.is_file():
        if path.exists():
            shutil.rmtree(path)
        training = _TrainingThread(spec, path, sweep.eval_episodes)
        training.start()
        reported = 0
        while training.is_alive():
            training.join(POLL_SECONDS)
            progress = read_progress(path)
            if progress is not None and progress["step"] > reported and training.is_alive():
                tune.report({**progress, "eval_mean_return": math.nan, "finished": False})
                reported = progress["step"]
        if training.error is not None:
            raise training.error
    evaluation = json.loads(eval_path.read_text(encoding="utf-8"))
    progress = read_progress(path) or {"step": sweep.steps, "episodes": 0, "episode_return_mean": math.nan}
    tune.report(
        {**progress, "step": sweep.steps, "eval_mean_return": evaluation["mean_return"], "finished": True}
    )


class _TrainingThread(threading.Thread):
    """``rlsuite.training.train`` in a thread; an exception is kept for the trial to raise."""

    def __init__(self, spec: Any, path: Path, eval_episodes: int) -> None:
        super().__init__(daemon=True)
        self.spec, self.path, self.eval_episodes = spec, path, eval_episodes
        self.error: BaseException | None = None

    def run(self) -> None:
        from rlsuite.training import train

        try:
            train(self.spec, self.path, eval_episodes=self.eval_episodes, progress_bar=False)
        except BaseException as error:  # noqa: B036  (handed to the trial, which raises it)
            self.error = error


# --- the sweep ----------------------------------------------------------------------------------------


def run_sweep(
    sweep: SweepConfig, out: Path, address: str | None = None, resume: bool = False
) -> list[TrialOutcome]:
    """Run (or with ``resume``, continue) ``sweep`` in the folder ``out``; returns every trial's outcome.

    Ray starts locally with the machine's cores, or joins the cluster at ``address``; a Ray session the
    caller already opened is used as it is. Finished trials of a resumed sweep are not run again; a trial
    that raises is recorded with its error while the others go on. Writes ``out/summary.json``; Ctrl-C
    raises :class:`SweepInterrupted` once Tune has saved the experiment.
    """
    ray, tune = _import_ray()
    out = Path(out).resolve()
    tune_dir = out / "tune"
    saved = out / "sweep.json"
    if resume:
        if not saved.is_file() or not tune.Tuner.can_restore(str(tune_dir)):
            raise UserError(f"nothing to resume in {out} (no sweep was started there)")
        if json.loads(saved.read_text(encoding="utf-8")) != sweep.to_dict():
            raise UserError(f"{out} holds a different sweep than this file describes: resume it unchanged")
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"sweep folder {out} already exists and is not empty (resume it with --resume)")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved, json_text(sweep.to_dict(), indent=2) + "\n")

    trainable = tune.with_resources(
        tune.with_parameters(run_trial, sweep=sweep, runs_dir=str(out / "runs")), {"cpu": 1}
    )
    with _ray_session(ray, address), contextlib.redirect_stdout(sys.stderr):  # Tune's progress: stderr
        if resume:
            tuner = tune.Tuner.restore(str(tune_dir), trainable, resume_unfinished=True, resume_errored=False)
        else:
            tuner = tune.Tuner(
                trainable,
                param_space={"seed": tune.grid_search(list(sweep.seeds))}
                | {name: dim.to_tune() for name, dim in sweep.search.items()},
                tune_config=tune.TuneConfig(
                    metric=sweep.metric,
                    mode=sweep.mode,
                    scheduler=_scheduler(sweep),
                    num_samples=sweep.num_samples,
                    max_concurrent_trials=sweep.max_concurrent,
                    trial_name_creator=_trial_name,
                    trial_dirname_creator=_trial_name,
                    # A trial process imports torch and the agents once, not per trial; but a trial that ASHA
                    # stops must take its process (and the training thread in it) down with it.
                    reuse_actors=sweep.early_stopping is None,
                ),
                run_config=tune.RunConfig(
                    name=tune_dir.name,
                    storage_path=str(out),
                    failure_config=tune.FailureConfig(max_failures=0),
                    verbose=1,
                ),
            )
        results = tuner.fit()
    if _interrupted(tune, tune_dir, expected_trials(sweep)):
        raise SweepInterrupted(f"sweep interrupted; its state is saved in {out}")
    outcomes = [_outcome(result, out / "runs") for result in results]
    outcomes.sort(key=lambda outcome: outcome.name)
    summary = {"sweep": sweep.to_dict(), "trials": [asdict(outcome) for outcome in outcomes]}
    atomic_write_text(out / "summary.json", json_text(summary, indent=2, default=_json_default) + "\n")
    return outcomes


def expected_trials(sweep: SweepConfig) -> int:
    """How many trials the sweep makes: every seed of every grid point, ``num_samples`` times."""
    grid = math.prod(len(dim.values) for dim in sweep.search.values() if dim.kind == "grid")
    return sweep.num_samples * len(sweep.seeds) * grid


def _interrupted(tune: Any, tune_dir: Path, expected: int) -> bool:
    """Whether Tune stopped before the end (Ctrl-C): its saved state then has too few or unfinished trials.

    The saved state is read because the ResultGrid cannot tell: Tune marks the trials it stops on Ctrl-C
    as terminated in memory after writing them to disk as still running, which is what a restore uses.
    """
    trials = tune.ExperimentAnalysis(str(tune_dir)).trials
    return len(trials) < expected or any(trial.status not in ("TERMINATED", "ERROR") for trial in trials)


def _import_ray() -> tuple[Any, Any]:
    try:
        import ray
        from ray import tune
    except ImportError:
        raise UserError(f"rlsuite sweep needs Ray: {INSTALL_HINT}") from None
    return ray, tune


@contextlib.contextmanager
def _ray_session(ray: Any, address: str | None) -> Any:
    """Ray for the sweep: the caller's open session, else a local one or the cluster at ``address``."""
    if ray.is_initialized():
        yield
        return
    if address is None:
        # "local": a new Ray of our own, even where `ray start` left an address behind to join by default.
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, ValueError) as error:
            raise UserError(
                f"cannot join the Ray cluster at {address}: {' '.join(str(error).split())}"
            ) from None
    try:
        yield
    finally:
        ray.shutdown()


def _scheduler(sweep: SweepConfig) -> Any:
    if sweep.early_stopping is None:
        return None
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr="step",
        max_t=sweep.steps,
        grace_period=sweep.early_stopping.grace_period,
        reduction_factor=sweep.early_stopping.reduction_factor,
    )


def _trial_name(trial: Any) -> str:
    """Tune names each trial (and its run folder) after its number and its values."""
    suffix = trial.trial_id.rsplit("_", 1)[-1]
    return trial_run_name(int(suffix) if suffix.isdigit() else 0, trial.config)


def _outcome(result: Any, runs_dir: Path) -> TrialOutcome:
    """A Tune result as a :class:`TrialOutcome`; a crash keeps its exception's last line."""
    name = Path(result.path).name
    config = dict(result.config or {})
    metrics = {
        key: result.metrics[key] for key in ("step", "episodes", *METRICS) if key in (result.metrics or {})
    }
    if result.error is not None:
        status, error = "error", _error_line(result.error)
    else:
        status, error = ("finished" if (result.metrics or {}).get("finished") else "stopped early"), None
    return TrialOutcome(
        name=name,
        status=status,
        seed=config.pop("seed", -1),
        params=config,
        metrics=metrics,
        run=str(runs_dir / name),
        error=error,
    )


def _error_line(error: BaseException) -> str:
    """The original exception of a trial (Ray wraps it) as ``Type: message`` on one line."""
    cause = getattr(error, "cause", None) or error
    return " ".join(f"{type(cause).__name__}: {cause}".split())


def _json_default(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else str(value)


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1, timeout: float = 120) -> Any:
    """A throwaway Ray cluster on this machine: ``ray start --head`` and ``nodes - 1`` worker nodes on other
    ports; yields the address to give ``--address``, and stops the nodes (by their pids) on exit.

    What the tests and the benchmark join to check that a sweep runs unchanged on a cluster. Token
    authentication is off for it (it listens on this machine only).
    """
    ray, _ = _import_ray()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    node = ["--block", f"--num-cpus={cpus_per_node}", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    ray_cli = str(Path(sys.executable).with_name("ray"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # for this process's drivers too
    processes = [
        subprocess.Popen(
            [ray_cli, "start", "--head", f"--port={port}", "--include-dashboard=false", *node], **quiet
        )
    ]
    try:
        processes += [
            subprocess.Popen([ray_cli, "start", f"--address={address}", *node], **quiet)
            for _ in range(nodes - 1)
        ]
        _wait_for_nodes(ray, address, nodes, timeout)
        yield address
    finally:
        for process in reversed(processes):  # workers first, so the head need not wait for them to drain
            process.terminate()
            process.wait(timeout=60)
        if previous is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = previous


def _wait_for_nodes(ray: Any, address: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            ray.init(address=address, log_to_driver=False)
            break
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        while len([node for node in ray.nodes() if node["Alive"]]) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Ray cluster at {address} has fewer than {count} nodes")
            time.sleep(0.5)
    finally:
        ray.shutdown()


# --- the command --------------------------------------------------------------------------------------


@click.command("sweep")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--address", help="Join this Ray cluster (auto, HOST:PORT or ray://HOST:PORT) instead of a local Ray."
)
@click.option(
    "--num-samples", type=click.IntRange(min=1), help="Samples of the search space (overrides the file)."
)
@click.option(
    "--max-concurrent", type=click.IntRange(min=1), help="Trials at once (default: as many as fit)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Sweep folder  [default: runs/sweeps/NAME]",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted sweep in its folder.")
def sweep_command(
    config_path: Path,
    address: str | None,
    num_samples: int | None,
    max_concurrent: int | None,
    out: Path | None,
    resume: bool,
) -> None:
    """Run the trials of sweep file CONFIG.yaml on Ray; each trial is a run folder."""
    sweep = load_sweep(config_path, num_samples, max_concurrent)
    folder = out if out is not None else Path("runs") / "sweeps" / sweep.name
    try:
        outcomes = run_sweep(sweep, folder, address=address, resume=resume)
    except SweepInterrupted as interrupted:
        click.echo(
            f"{interrupted}\nresume with: rlsuite sweep {config_path} --out {folder} --resume", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"sweep: {folder} ({len(outcomes)} trials)")
    for outcome in outcomes:
        value = outcome.metrics.get(sweep.metric)
        shown = f"{value:.4g}" if isinstance(value, float) and not math.isnan(value) else "-"
        click.echo(f"  {outcome.name:<48} {outcome.status:<14} {sweep.metric} {shown}")
    failed = [outcome for outcome in outcomes if outcome.status == "error"]
    for outcome in failed:
        click.echo(f"rlsuite: trial {outcome.name} failed: {outcome.error}", err=True)
    finished = [
        o
        for o in outcomes
        if o.status == "finished" and not math.isnan(o.metrics.get(sweep.metric, math.nan))
    ]
    if finished:
        pick = max if sweep.mode == "max" else min
        best = pick(finished, key=lambda o: o.metrics[sweep.metric])
        click.echo(f"best: {best.name} ({sweep.metric} {best.metrics[sweep.metric]:.4g}) -> {best.run}")
    click.echo(f"report: rlsuite report {folder / 'runs'} --out {folder / 'report.html'}")
    if failed:
        sys.exit(1)
