"""``rlsuite report RUNS...``: one self-contained HTML page that aggregates run folders across seeds.

Runs that differ only in their seed form one *variant* (same algorithm, env and hyperparameters). For each
env the page shows every variant's interquartile mean of the final evaluation return with its
stratified-bootstrap 95 % interval, the performance profiles, the learning curves (IQM over seeds of the
recent training return, with its band), a results table per variant and per run, and a GIF of each
variant's best run. Images are inlined as base64, so the file opens in a browser with no server.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from core.atomic import atomic_write_text
from core.errors import UserError
from rlsuite.options import format_value
from rlsuite.stats import Interval, iqm_interval, performance_profile

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RECENT_EPISODES = 10  # a learning curve's value at step s: the mean return of the last 10 episodes by s
CURVE_POINTS = 60
CURVE_REPS = 500  # bootstrap resamples per learning-curve point (the final scores get stats.BOOTSTRAP_REPS)
PROFILE_POINTS = 60
GIF_MAX_STEPS = 500
GIF_FPS = 30
COLOURS = [
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
]


@dataclass
class Run:
    """One training run folder, as the report reads it."""

    path: Path
    algo: str
    env: str  # the env id, with its keyword arguments when it has any
    hyperparams: dict[str, Any]
    seed: int
    episode_steps: np.ndarray  # the step at which each training episode ended
    episode_returns: np.ndarray
    eval_return: float | None  # eval.json's mean_return; None for a run stopped early or unfinished
    gifs: list[Path] = field(default_factory=list)

    @property
    def recent_return(self) -> float:
        """Mean return of the last ``RECENT_EPISODES`` training episodes (NaN before any)."""
        tail = self.episode_returns[-RECENT_EPISODES:]
        return float(tail.mean()) if len(tail) else math.nan


@dataclass(eq=False)
class Variant:
    """Runs of one configuration over seeds."""

    label: str
    algo: str
    env: str
    runs: list[Run]

    @property
    def scored(self) -> list[Run]:
        return [run for run in self.runs if run.eval_return is not None]


def find_runs(paths: list[Path]) -> list[Run]:
    """Every training run folder in ``paths`` (each a run folder or a folder holding some, e.g. a sweep)."""
    folders: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise UserError(f"run folder not found: {path}")
        if (path / "config.json").is_file():
            folders.append(path)
        else:
            folders += sorted(config.parent for config in path.rglob("config.json"))
    runs = [run for run in (_read_run(folder) for folder in dict.fromkeys(folders)) if run is not None]
    if not runs:
        raise UserError(
            f"no training runs (folders with config.json and metrics.csv) in {', '.join(map(str, paths))}"
        )
    return runs


def _read_run(folder: Path) -> Run | None:
    """A run folder's config, training episodes and evaluation; None for other folders (tasks, planners)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"malformed JSON: {folder / 'config.json'} ({error})") from None
    if not {"algo", "env_id", "hyperparams", "seed"} <= set(config) or not (folder / "metrics.csv").is_file():
        return None
    steps, returns = [], []
    with (folder / "metrics.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("episode_return"):
                steps.append(float(row["step"]))
                returns.append(float(row["episode_return"]))
    evaluation = folder / "eval.json"
    eval_return = (
        json.loads(evaluation.read_text(encoding="utf-8"))["mean_return"] if evaluation.is_file() else None
    )
    kwargs = config.get("env_kwargs") or {}
    env = config["env_id"] + (
        "" if not kwargs else " " + " ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    )
    return Run(
        path=folder,
        algo=config["algo"],
        env=env,
        hyperparams={k: v for k, v in config["hyperparams"].items() if k != "seed"},
        seed=int(config["seed"]),
        episode_steps=np.asarray(steps),
        episode_returns=np.asarray(returns),
        eval_return=eval_return,
        gifs=sorted(folder.glob("*.gif")),
    )


def group_variants(runs: list[Run]) -> list[Variant]:
    """Group runs that differ only in their seed; label each group by the hyperparameters setting it apart."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        key = json.dumps([run.algo, run.env, run.hyperparams], sort_keys=True, default=str)
        groups.setdefault(key, []).append(run)
    varying = {
        name
        for a in groups.values()
        for b in groups.values()
        if a[0].algo == b[0].algo
        for name in set(a[0].hyperparams) | set(b[0].hyperparams)
        if a[0].hyperparams.get(name) != b[0].hyperparams.get(name)
    }
    variants = []
    for members in groups.values():
        first = members[0]
        shown = " ".join(f"{name}={format_value(first.hyperparams.get(name))}" for name in sorted(varying))
        label = f"{first.algo} {shown}".strip()
        variants.append(Variant(label, first.algo, first.env, sorted(members, key=lambda run: run.seed)))
    return sorted(variants, key=lambda variant: (variant.env, variant.label))


# --- figures ------------------------------------------------------------------------------------------


def learning_curves(variant: Variant) -> tuple[np.ndarray, Interval] | None:
    """IQM over seeds of the recent training return, at ``CURVE_POINTS`` steps every run has reached."""
    runs = [run for run in variant.runs if len(run.episode_steps)]
    if not runs:
        return None
    start = max(run.episode_steps[0] for run in runs)
    stop = min(run.episode_steps[-1] for run in runs)
    grid = np.linspace(start, stop, CURVE_POINTS) if stop > start else np.array([stop])
    curves = np.stack([_recent_returns(run, grid) for run in runs])[:, None, :]  # [runs, 1 task, points]
    return grid, iqm_interval(curves, reps=CURVE_REPS)


def _recent_returns(run: Run, grid: np.ndarray) -> np.ndarray:
    """At each step of ``grid``, the mean return of the last ``RECENT_EPISODES`` episodes that had ended."""
    ended = np.searchsorted(run.episode_steps, grid, side="right")  # episodes finished by each step
    totals = np.concatenate([[0.0], np.cumsum(run.episode_returns)])
    first = np.maximum(ended - RECENT_EPISODES, 0)
    return (totals[ended] - totals[first]) / (ended - first)


def _figure_curves(variants: list[Variant], env: str) -> Figure | None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.subplots()
    drawn = False
    for colour, variant in zip(COLOURS * 8, variants, strict=False):
        curve = learning_curves(variant)
        if curve is None:
            continue
        steps, band = curve
        label = f"{variant.label} ({len(variant.runs)} seeds)"
        ax.plot(steps, band.estimate, color=colour, linewidth=2.0, label=label)
        ax.fill_between(steps, band.low, band.high, color=colour, alpha=0.2, linewidth=0)
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"return (mean of last {RECENT_EPISODES} episodes)")
    ax.set_title(f"{env}: learning curves, IQM over seeds with 95% CI")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def _figure_iqm(rows: list[tuple[Variant, Interval]], env: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 0.9 + 0.45 * len(rows)))
    ax = fig.subplots()
    for y, (colour, (_, interval)) in enumerate(zip(COLOURS * 8, rows, strict=False)):
        ax.barh(y, interval.high - interval.low, left=interval.low, height=0.6, color=colour, alpha=0.35)
        ax.plot([interval.estimate] * 2, [y - 0.3, y + 0.3], color=colour, linewidth=2.5)
    ax.set_yticks(range(len(rows)), [variant.label for variant, _ in rows], fontsize=8)
    ax.set_xlabel("final evaluation return: IQM (line) and 95% stratified-bootstrap CI (bar)")
    ax.set_title(f"{env}: aggregate over seeds")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def _figure_profiles(variants: list[Variant], env: str) -> Figure:
    from matplotlib.figure import Figure

    scores = [run.eval_return for variant in variants for run in variant.scored]
    low, high = min(scores), max(scores)
    thresholds = np.linspace(low - 1e-9, high + max(1e-9, 0.02 * (high - low)), PROFILE_POINTS)
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.subplots()
    for colour, variant in zip(COLOURS * 8, variants, strict=False):
        if not variant.scored:
            continue
        profile = performance_profile(np.array([[run.eval_return] for run in variant.scored]), thresholds)
        ax.plot(thresholds, profile.estimate, color=colour, linewidth=2.0, label=variant.label)
        ax.fill_between(thresholds, profile.low, profile.high, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel("final evaluation return τ")
    ax.set_ylabel("fraction of runs with return > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{env}: performance profiles (score distributions) with 95% CI")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return _data_uri(buffer.getvalue(), "image/png")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _gif(variant: Variant, record: bool) -> tuple[str, Run] | None:
    """The best run's GIF: one found in its folder, or (with ``record``) one episode recorded now."""
    ranked = sorted(variant.scored, key=lambda run: run.eval_return, reverse=True)
    for run in ranked:
        if run.gifs:
            return _data_uri(run.gifs[0].read_bytes(), "image/gif"), run
    if not record or not ranked or not (ranked[0].path / "model.pt").is_file():
        return None
    from core.env_source import make_env
    from core.recording import record_episode
    from core.rundir import RunDir
    from rlsuite.training import load_agent

    best = ranked[0]
    agent, spec = load_agent(RunDir.open(best.path))
    with tempfile.TemporaryDirectory() as tmp:
        gif = Path(tmp) / "episode.gif"
        env = lambda: make_env(spec.env_id, render_mode="rgb_array", **spec.env_kwargs)  # noqa: E731
        record_episode(agent, env, gif, seed=spec.seed, max_steps=GIF_MAX_STEPS, fps=GIF_FPS)
        return _data_uri(gif.read_bytes(), "image/gif"), best


# --- the page -----------------------------------------------------------------------------------------


def build_report(paths: list[Path], out: Path, record_gifs: bool = True) -> dict[str, Any]:
    """Write the report on the runs in ``paths`` to ``out``; returns its counts and per-variant IQMs."""
    runs = find_runs(paths)
    variants = group_variants(runs)
    envs = list(dict.fromkeys(variant.env for variant in variants))
    body = [
        f"<h1>rlsuite report</h1><p>{len(runs)} runs, {len(variants)} variants, {len(envs)} environment(s). "
        "Scores are each run's final greedy evaluation (eval.json); a variant's IQM is the mean of the "
        "middle 50 % of its runs' scores, and its 95 % interval a percentile stratified bootstrap "
        "(Agarwal et al. 2021). Runs without an evaluation (stopped early, unfinished) appear in the "
        "learning curves and the run table only.</p>"
    ]
    summary: dict[str, Any] = {"runs": len(runs), "variants": {}}
    for env in envs:
        group = [variant for variant in variants if variant.env == env]
        body.append(f"<h2>{html.escape(env)}</h2>")
        rows = [
            (variant, iqm_interval(np.array([[run.eval_return] for run in variant.scored])))
            for variant in group
            if variant.scored
        ]
        body.append(_results_table(group, dict(rows)))
        if rows:
            body.append(_img(_png(_figure_iqm(rows, env)), f"{env}: IQM with 95% CI"))
            body.append(_img(_png(_figure_profiles(group, env)), f"{env}: performance profiles"))
        curves = _figure_curves(group, env)
        if curves is not None:
            body.append(_img(_png(curves), f"{env}: learning curves"))
        gifs = [(variant, _gif(variant, record_gifs)) for variant in group]
        if any(gif for _, gif in gifs):
            body.append("<h3>Best run of each variant</h3><div class='gifs'>")
            for variant, gif in gifs:
                if gif is not None:
                    uri, run = gif
                    caption = f"{variant.label}: {run.path.name} (eval {run.eval_return:.1f})"
                    figcaption = f"<figcaption>{html.escape(caption)}</figcaption>"
                    body.append(f"<figure>{_img(uri, caption)}{figcaption}</figure>")
            body.append("</div>")
        for variant, interval in rows:
            summary["variants"][f"{env} | {variant.label}"] = {
                "runs": len(variant.runs),
                "scored_runs": len(variant.scored),
                "iqm": float(interval.estimate),
                "ci95": [float(interval.low), float(interval.high)],
            }
    body.append("<h2>Runs</h2>" + _runs_table(variants))
    page = _PAGE.format(body="\n".join(body))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, page)
    return summary


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _results_table(variants: list[Variant], intervals: dict[Variant, Interval]) -> str:
    rows = []
    for variant in variants:
        scores = np.array([run.eval_return for run in variant.scored])
        interval = intervals.get(variant)
        cells = [
            html.escape(variant.label),
            f"{len(variant.scored)} / {len(variant.runs)}",
            f"{float(interval.estimate):.2f} [{float(interval.low):.2f}, {float(interval.high):.2f}]"
            if interval
            else "-",
            f"{scores.mean():.2f} ± {scores.std():.2f}" if len(scores) else "-",
            f"{np.median(scores):.2f}" if len(scores) else "-",
            f"{scores.min():.2f} – {scores.max():.2f}" if len(scores) else "-",
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = ["variant", "evaluated runs", "IQM [95% CI]", "mean ± std", "median", "min – max"]
    return _table(header, rows, "results")


def _runs_table(variants: list[Variant]) -> str:
    rows = []
    for variant in variants:
        for run in variant.runs:
            steps = int(run.episode_steps[-1]) if len(run.episode_steps) else 0
            cells = [
                html.escape(run.path.name),
                html.escape(variant.env),
                html.escape(variant.label),
                str(run.seed),
                str(steps),
                str(len(run.episode_returns)),
                f"{run.recent_return:.2f}" if not math.isnan(run.recent_return) else "-",
                f"{run.eval_return:.2f}"
                if run.eval_return is not None
                else "no eval (stopped early or unfinished)",
            ]
            rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = [
        "run",
        "env",
        "variant",
        "seed",
        "steps",
        "episodes",
        f"last {RECENT_EPISODES} episodes",
        "eval return",
    ]
    return _table(header, rows, "runs")


def _table(header: list[str], rows: list[str], css_class: str) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rlsuite report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
th {{ background: #f2f2f2; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
.gifs {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.gifs img {{ max-width: 320px; }}
figure {{ margin: 0; }} figcaption {{ font-size: 0.85em; }}
</style></head>
<body>
{body}
</body></html>
"""


@click.command("report")
@click.argument("paths", metavar="RUNS...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"), show_default=True
)
@click.option(
    "--gifs/--no-gifs",
    "record_gifs",
    default=True,
    show_default=True,
    help="Record a GIF of each variant's best run when its folder has none.",
)
def report_command(paths: tuple[Path, ...], out: Path, record_gifs: bool) -> None:
    """Aggregate run folders (or folders of them, e.g. a sweep's) across seeds into one HTML file."""
    summary = build_report(list(paths), out, record_gifs)
    click.echo(f"report: {out} ({summary['runs']} runs, {len(summary['variants'])} evaluated variants)")
    for name, figures in summary["variants"].items():
        low, high = figures["ci95"]
        interval = f"IQM {figures['iqm']:.4g} [{low:.4g}, {high:.4g}]"
        click.echo(f"  {name:<50} {interval} over {figures['scored_runs']} runs")
