"""The ``rlsuite`` command line: list, solve, plan, train, eval, dream, demo.

Results go to stdout (``--json`` prints exactly one object); progress and errors go to stderr. Every user
mistake exits with status 2 and one line ``rlsuite: error: ...`` on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from core.errors import UserError
from core.json_text import json_text
from rlsuite.options import format_value
from rlsuite.registry import ALGORITHMS, get_algorithm
from rlsuite.report import report_command
from rlsuite.sweep import sweep_command

if TYPE_CHECKING:
    from rlsuite.tasks import TaskSpec

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
PLANNERS = [name for name, algorithm in ALGORITHMS.items() if algorithm.kind == "planner"]


class _Cli(click.Group):
    """A click group that reports user mistakes (ours and click's) as one stderr line and exit status 2."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> None:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name or "rlsuite", standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # a bare `rlsuite`: the help, not an error
            click.echo(error.ctx.get_help())
            code = 0
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            _fail(error.format_message() + hint)
        except click.ClickException as error:
            _fail(error.format_message())
        except UserError as error:
            _fail(str(error))
        except OSError as error:  # a file the user named cannot be read or written
            _fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the order they are defined in, which is the order of a session


def _fail(message: str) -> None:
    """Print ``message`` as one line on stderr and exit with status 2."""
    one_line = " ".join(line.strip() for line in message.strip().splitlines())
    click.echo(f"rlsuite: error: {one_line}", err=True)
    sys.exit(EXIT_USER_ERROR)


def _print_json(obj: dict[str, Any]) -> None:
    click.echo(json_text(obj))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """rlsuite: reinforcement learning and planning on Gymnasium environments."""


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(as_json: bool) -> None:
    """List the environments, grid layouts and algorithms."""
    from envs.gridworld.layout import layout_names
    from rlsuite.environments import rlsuite_env_ids

    note = "any installed Gymnasium id (e.g. CartPole-v1) also works with train and eval"
    environments = rlsuite_env_ids()
    layouts = layout_names()
    if as_json:
        algorithms = [
            {"name": a.name, "kind": a.kind, "description": a.description} for a in ALGORITHMS.values()
        ]
        _print_json(
            {"environments": environments, "layouts": layouts, "algorithms": algorithms, "note": note}
        )
        return
    click.echo("Environments:")
    for env_id in environments:
        click.echo(f"  {env_id}")
    click.echo(f"  ({note})")
    click.echo(f"\nGrid layouts (--layout, or --env-kwarg layout=...): {', '.join(layouts)}")
    click.echo("\nAlgorithms:")
    for algorithm in ALGORITHMS.values():
        click.echo(f"  {algorithm.name:<12} {algorithm.kind:<8} {algorithm.description}")


@cli.command()
@click.argument("env_id", metavar="ENV")
@click.option("--layout", help="Grid layout: a built-in name, maze-N, open-HxW or a .txt map file.")
@click.option("--noise", type=click.FloatRange(0, 1), help="Probability that a move slips sideways.")
@click.option("--living-reward", type=float, help="Reward for every non-terminal step.")
@click.option("--gamma", type=click.FloatRange(0, 1), default=0.9, show_default=True, help="Discount.")
@click.option("--algo", type=click.Choice(PLANNERS), default="vi", show_default=True, help="Planner.")
@click.option(
    "--tol",
    type=click.FloatRange(0, min_open=True),
    default=1e-8,
    show_default=True,
    help="Residual to stop at.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write a value heat map PNG.")
def solve(
    env_id: str,
    layout: str | None,
    noise: float | None,
    living_reward: float | None,
    gamma: float,
    algo: str,
    tol: float,
    as_json: bool,
    plot: Path | None,
) -> None:
    """Plan a tabular ENV exactly; print its values and greedy policy."""
    from rlsuite.plots import plot_values
    from rlsuite.solve import format_solution
    from rlsuite.solve import solve as solve_env

    options = {"layout": layout, "noise": noise, "living_reward": living_reward}
    solution = solve_env(env_id, {k: v for k, v in options.items() if v is not None}, algo, gamma, tol)
    if plot is not None:
        title = f"{solution.grid.layout.name}: {algo}, gamma={gamma}"
        plot_values(solution.result.values, solution.result.policy, solution.grid, plot, title)
    if as_json:
        _print_json(solution.to_dict())
    else:
        click.echo(format_solution(solution))
        if plot is not None:
            click.echo(f"\nheat map: {plot}")


@cli.group(no_args_is_help=False)  # "Missing command", one line, not the help as an error
def plan() -> None:
    """Model-predictive control on a known model (the kinematic car)."""


@plan.command("car")
@click.option(
    "--target",
    type=(float, float),
    required=True,
    metavar="X Y",
    help="Where to park, in metres (inside the arena).",
)
@click.option("--planner", default="mppi", show_default=True, help="gradient, cem or mppi.")
@click.option(
    "--obstacles",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Circles sampled (by --seed) on the straight way to the target.",
)
@click.option(
    "--steps", type=click.IntRange(min=1), help="Control steps of 0.1 s  [default: the env's limit, 150]"
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--gif", type=click.Path(dir_okay=False, path_type=Path), help="Write the drive (.gif/.mp4).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan_car_command(
    target: tuple[float, float],
    planner: str,
    obstacles: int,
    steps: int | None,
    seed: int,
    gif: Path | None,
    as_json: bool,
) -> None:
    """Drive the kinematic car from rest at the origin to --target X Y and stop, replanning at each step."""
    from rlsuite.demo_mpc import plan_car

    limit = {} if steps is None else {"max_steps": steps}
    summary = plan_car(target, planner, obstacles=obstacles, gif=gif, seed=seed, **limit)
    if as_json:
        _print_json(summary)
        return
    x, y = summary["target"]
    rows = {
        "final position error": f"{summary['final_position_error']:.4f} m",
        "final speed": f"{summary['final_speed']:.4f} m/s",
        "parked": "yes" if summary["is_success"] else "no",
    }
    if summary["obstacles"]:
        rows["collision"] = (
            f"{'yes' if summary['collision'] else 'no'} ({len(summary['obstacles'])} obstacles)"
        )
    rows["median plan step"] = f"{summary['median_step_ms']:.2f} ms"
    if gif is not None:
        rows["gif"] = summary["gif"]
    click.echo(
        f"{planner} drove the car from rest at the origin to ({x:g}, {y:g}) in {summary['steps']} steps:"
    )
    for label, value in rows.items():
        click.echo(f"  {label:<21} {value}")


@cli.command()
@click.argument("algo")
@click.option("--env", "env_id", help="Gymnasium id, e.g. rlsuite/GridWorld-v0 (agents need one).")
@click.option("--data", help="A task's data: digits, frames:ENV_ID, mnist:PATH, cifar:PATH.")
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    help="Total env steps, or the algorithm's own unit where `rlsuite list` says so (BPTT iterations, "
    "epochs); --resume keeps the run's  [default: 50000]",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder  [default: runs/ALGO-ENV-sSEED]",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Hyperparameter; VALUE is JSON or a string (repeatable).",
)
@click.option(
    "--env-kwarg",
    "env_kwargs",
    multiple=True,
    metavar="KEY=VALUE",
    help="gym.make keyword argument (repeatable).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out (or the default folder).")
@click.option(
    "--eval-episodes", type=click.IntRange(min=1), default=20, show_default=True, help="For eval.json."
)
def train(
    algo: str,
    env_id: str | None,
    data: str | None,
    steps: int | None,
    seed: int,
    out: Path | None,
    sets: tuple[str, ...],
    env_kwargs: tuple[str, ...],
    resume: bool,
    eval_episodes: int,
) -> None:
    """Train ALGO on a Gymnasium env (or a task on its --data) into a run folder, then evaluate it."""
    from rlsuite.options import parse_assignments
    from rlsuite.tasks import TaskSpec, is_task
    from rlsuite.training import TrainingInterrupted, TrainSpec, resumed_spec, run_path
    from rlsuite.training import train as train_run

    if is_task(algo):
        task = TaskSpec(
            algo,
            data,
            env_id,
            parse_assignments(env_kwargs, "--env-kwarg"),
            parse_assignments(sets, "--set"),
            steps,
            seed,
        )
        _train_task(task, out, resume, steps_given=steps is not None)
        return
    if env_id is None:
        raise UserError(f"{algo} learns from an env: give --env ENV_ID (e.g. CartPole-v1)")
    if data is not None:
        raise UserError(f"--data is for training tasks; {algo} learns from --env")
    spec = TrainSpec(
        algo,
        env_id,
        parse_assignments(env_kwargs, "--env-kwarg"),
        parse_assignments(sets, "--set"),
        steps or get_algorithm(algo).default_steps or TrainSpec.steps,
        seed,
    )
    path = run_path(out, spec)
    if resume:
        spec = resumed_spec(path, spec, steps_given=steps is not None)
    try:
        outcome = train_run(spec, path, resume=resume, eval_episodes=eval_episodes)
    except TrainingInterrupted as interrupted:
        click.echo(str(interrupted), err=True)
        sys.exit(EXIT_INTERRUPTED)
    run = outcome.run
    result = outcome.evaluation
    click.echo(f"run: {run.path}")
    click.echo(f"trained {outcome.agent.num_timesteps} steps; evaluation over {eval_episodes} episodes:")
    click.echo(f"  mean return {result.mean_return:.3f} ± {result.std_return:.3f}  ->  {run.eval_path}")
    for label, path in outcome.media.items():
        click.echo(f"  {label}: {path}")


def _train_task(spec: TaskSpec, out: Path | None, resume: bool, steps_given: bool) -> None:
    """``rlsuite train TASK``: run it into its folder and print its figures and files."""
    from rlsuite.tasks import default_task_run_name, resumed_task_spec, run_task

    path = Path(out) if out is not None else Path("runs") / default_task_run_name(spec)
    if resume:
        spec = resumed_task_spec(path, spec, steps_given)
    try:
        run, result = run_task(spec, path, resume=resume)
    except KeyboardInterrupt:
        click.echo(f"interrupted; resume with: rlsuite train {spec.task} --out {path} --resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"run: {run.path}")
    for key, value in result.summary.items():
        click.echo(f"  {key:<24} {format_value(value)}")
    for label, media_path in result.media.items():
        click.echo(f"  {label}: {media_path}")


@cli.command("eval")
@click.argument("run_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--episodes", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--gif", type=click.Path(dir_okay=False, path_type=Path), help="Record one episode (.gif/.mp4)."
)
def eval_command(run_dir: Path, episodes: int, seed: int, as_json: bool, gif: Path | None) -> None:
    """Evaluate the trained agent of run folder DIR."""
    from core.env_source import make_env
    from core.evaluation import evaluate_policy
    from core.recording import record_episode
    from core.rundir import RunDir
    from rlsuite.training import load_agent

    agent, spec = load_agent(RunDir.open(run_dir))
    summary = evaluate_policy(
        agent, lambda: make_env(spec.env_id, **spec.env_kwargs), n_episodes=episodes, seed=seed
    ).to_dict()
    if gif is not None:
        recording = record_episode(
            agent, lambda: make_env(spec.env_id, render_mode="rgb_array", **spec.env_kwargs), gif, seed=seed
        )
        summary["gif"] = recording["path"]
    if as_json:
        _print_json(summary)
        return
    click.echo(f"{spec.algo} on {spec.env_id} ({run_dir}), {summary['episodes']} episodes:")
    for key, value in summary.items():
        if key != "episodes":
            click.echo(f"  {key:<14} {format_value(value)}")


@cli.command()
@click.argument("run_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--gif", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write it."
)
@click.option("--steps", type=click.IntRange(min=1), default=20, show_default=True, help="Steps dreamed.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def dream(run_dir: Path, gif: Path, steps: int, seed: int, as_json: bool) -> None:
    """Dream a random-action rollout with the pixel world model of run folder DIR, beside the real one."""
    from rlsuite.worldmodel_tasks import dream as dream_rollout

    summary = dream_rollout(run_dir, gif, steps, seed)
    if as_json:
        _print_json(summary)
        return
    click.echo(f"real rollout (left) and the model's dream of it (right), {steps} steps: {summary['gif']}")
    click.echo(
        f"  pixel MSE at step {steps}: dream {summary['dream_mse']:.4g}, copying the first frame "
        f"{summary['copy_mse']:.4g}"
    )


@cli.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"), show_default=True
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
def demo(out: Path, seed: int) -> None:
    """A short tour of the families; figures, runs and a GIF in --out."""
    from rlsuite.demo import run_demo

    run_demo(out, seed)


cli.add_command(sweep_command)
cli.add_command(report_command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="rlsuite")
