"""Scaling out on Ray: a 2 x 5 DQN sweep on CartPole-v1 against the same ten trials one after another.

    python benchmarks/bench_scale.py            # 2 learning rates x 5 seeds x 50,000 steps
    python benchmarks/bench_scale.py --quick    # 2 x 2 x 1,000 steps, for a smoke run

Measured in one run, each part a fresh process timed from launch to exit (imports, Ray's start included):
- sequential: one process trains the ten trials one after another through ``rlsuite.training.train``;
- sweep: ``rlsuite sweep`` on a local Ray with the machine's cores (one trial per core);
and then whether every trial's metrics.csv and eval.json are identical between the two (same seeds, same
numbers). Also: the sweep unchanged on a two-node cluster (``ray start --head`` plus a worker node, joined
with ``--address``); a sweep interrupted with Ctrl-C once its first trial is done and resumed, every trial
exactly once; the report rendered in headless Chromium (a screenshot, where ``chromium`` is installed);
and Gymnasium's AsyncVectorEnv against SyncVectorEnv for CartPole collection.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import RESULTS_DIR, finish, print_table, run_worker  # noqa: E402

ENV_ID = "CartPole-v1"
LEARNING_RATES = [1e-3, 2.3e-3]
EVAL_EPISODES = 10
TARGET_RATIO = 0.6
BIN = Path(sys.executable).parent


def sweep_file(folder: Path, seeds: int, steps: int, learning_rates: list[float] = LEARNING_RATES) -> Path:
    """The sweep's YAML: DQN with its CartPole defaults, a grid over the learning rate, ``seeds`` seeds."""
    path = folder / f"sweep-{len(learning_rates)}x{seeds}-{steps}.yaml"
    path.write_text(
        f"algo: dqn\nenv: {ENV_ID}\nsteps: {steps}\nseeds: {seeds}\n"
        f"hyperparams: {{learning_starts: {min(1000, steps // 4)}}}\n"
        f"search:\n  learning_rate: {{grid: {learning_rates}}}\n"
        f"metric: eval_mean_return\nmode: max\neval_episodes: {EVAL_EPISODES}\n"
    )
    return path


def worker(config: str, out: str) -> dict:
    """The sequential baseline: every trial of the sweep file, one after another, in this one process."""
    import itertools

    from rlsuite.sweep import load_sweep
    from rlsuite.training import TrainSpec, train

    sweep = load_sweep(Path(config))
    rates = sweep.search["learning_rate"].values
    start = time.perf_counter()
    for seed, rate in itertools.product(sweep.seeds, rates):
        spec = TrainSpec("dqn", ENV_ID, {}, {**sweep.hyperparams, "learning_rate": rate}, sweep.steps, seed)
        train(
            spec,
            Path(out) / f"lr={rate:.4g}-seed={seed}",
            eval_episodes=sweep.eval_episodes,
            progress_bar=False,
        )
    return {"train_seconds": time.perf_counter() - start}


def timed(command: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - start, done


def run_files(folder: Path) -> dict[tuple[float, int], tuple[str, dict]]:
    """(learning rate, seed) -> (metrics.csv text, eval.json) for every run folder under ``folder``."""
    runs = {}
    for config_path in folder.rglob("config.json"):
        config = json.loads(config_path.read_text())
        key = (config["hyperparams"]["learning_rate"], config["seed"])
        runs[key] = (
            (config_path.parent / "metrics.csv").read_text(),
            json.loads((config_path.parent / "eval.json").read_text()),
        )
    return runs


def check_cluster(config: Path, out: Path) -> dict:
    """The same kind of sweep, unchanged, on a head and a worker node started here."""
    from rlsuite.sweep import local_cluster

    with local_cluster(nodes=2, cpus_per_node=1) as address:
        seconds, done = timed(
            [str(BIN / "rlsuite"), "sweep", str(config), "--out", str(out), "--address", address], 900
        )
    summary = (
        json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {"trials": []}
    )
    statuses = [trial["status"] for trial in summary["trials"]]
    return {
        "ok": done.returncode == 0 and statuses and all(s == "finished" for s in statuses),
        "seconds": seconds,
        "trials": len(statuses),
        "exit": done.returncode,
    }


def check_resume(config: Path, out: Path, trials: int) -> dict:
    """Ctrl-C once the first trial is done, then --resume: each trial finished, none run twice."""
    command = [str(BIN / "rlsuite"), "sweep", str(config), "--out", str(out), "--max-concurrent", "1"]
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = out / "runs"
    while not list(runs.glob("*/eval.json")) and sweep.poll() is None:
        time.sleep(0.2)
    sweep.send_signal(signal.SIGINT)
    sweep.communicate(timeout=300)
    done_before = {path.parent.name: path.stat().st_mtime_ns for path in runs.glob("*/eval.json")}
    _, resumed = timed([*command, "--resume"], 900)
    summary = (
        json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {"trials": []}
    )
    untouched = all(
        (runs / name / "eval.json").stat().st_mtime_ns == mtime for name, mtime in done_before.items()
    )
    single_pass = True
    for trial in summary["trials"]:
        steps = [
            int(line.split(",")[0])
            for line in (runs / trial["name"] / "metrics.csv").read_text().splitlines()[1:]
        ]
        single_pass &= steps == sorted(steps)
    finished = [t for t in summary["trials"] if t["status"] == "finished"]
    return {
        "interrupted_exit": sweep.returncode,
        "finished_before_resume": len(done_before),
        "trials_after_resume": len(summary["trials"]),
        "exactly_once": sweep.returncode == 130
        and 0 < len(done_before) < trials
        and len(finished) == trials
        and len(list(runs.iterdir())) == trials
        and untouched
        and single_pass
        and resumed.returncode == 0,
    }


def check_report(runs: Path, quick: bool) -> dict:
    """The report of the sweep, and a screenshot of it in headless Chromium where it is installed."""
    page = Path(tempfile.mkdtemp()) / "report.html"
    seconds, done = timed([str(BIN / "rlsuite"), "report", str(runs), "--out", str(page)], 600)
    result = {
        "ok": done.returncode == 0,
        "seconds": seconds,
        "html_bytes": page.stat().st_size if page.is_file() else 0,
    }
    chromium = shutil.which("chromium")
    result["chromium"] = chromium
    if chromium is None or not result["ok"]:
        result["screenshot"] = None
        return result
    shot = RESULTS_DIR / ("scale-report-quick.png" if quick else "scale-report.png")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1100,4000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    result["screenshot"] = str(shot.relative_to(RESULTS_DIR.parent.parent))
    return result


def vector_env_speed(steps: int, n_envs: int = 4) -> dict:
    """Random-action CartPole steps per second: SyncVectorEnv against AsyncVectorEnv (a process a copy)."""
    import gymnasium as gym
    import numpy as np

    speeds = {}
    for name, vector in (("sync", gym.vector.SyncVectorEnv), ("async", gym.vector.AsyncVectorEnv)):
        envs = vector([lambda: gym.make(ENV_ID)] * n_envs)
        envs.reset(seed=0)
        actions = np.zeros(n_envs, dtype=np.int64)
        start = time.perf_counter()
        for _ in range(steps // n_envs):
            envs.step(actions)
        speeds[name] = steps / (time.perf_counter() - start)
        envs.close()
    return {
        "n_envs": n_envs,
        "sync_steps_per_second": speeds["sync"],
        "async_steps_per_second": speeds["async"],
        "async_over_sync": speeds["async"] / speeds["sync"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 x 2 trials x 1,000 steps")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return

    seeds, steps = (2, 1_000) if args.quick else (5, 50_000)
    trials = len(LEARNING_RATES) * seeds
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    config = sweep_file(work, seeds, steps)
    script = str(Path(__file__).resolve())

    start = time.perf_counter()
    sequential = run_worker(script, [str(config), str(work / "sequential")], timeout=7200)
    sequential_seconds = time.perf_counter() - start
    print(f"sequential: {sequential_seconds:.1f} s {sequential}", flush=True)
    sweep_seconds, sweep = timed(
        [str(BIN / "rlsuite"), "sweep", str(config), "--out", str(work / "sweep")], 7200
    )
    print(f"sweep: {sweep_seconds:.1f} s, exit {sweep.returncode}", flush=True)
    ours, theirs = run_files(work / "sweep" / "runs"), run_files(work / "sequential")
    same = len(ours) == len(theirs) == trials and all(ours[key] == theirs.get(key) for key in ours)
    ratio = sweep_seconds / sequential_seconds

    small = sweep_file(work, 1, 500, learning_rates=[1e-3, 2.3e-3])
    cluster = check_cluster(small, work / "cluster")
    print(f"cluster: {cluster}", flush=True)
    resume = check_resume(sweep_file(work, 3, 500, learning_rates=[1e-3]), work / "resume", trials=3)
    print(f"resume: {resume}", flush=True)
    report = check_report(work / "sweep" / "runs", args.quick)
    print(f"report: {report}", flush=True)
    vectors = vector_env_speed(20_000 if args.quick else 100_000)

    print_table(
        f"DQN on {ENV_ID}: {len(LEARNING_RATES)} learning rates x {seeds} seeds x {steps:,} steps",
        ["part", "wall s", "result"],
        [
            ["sequential, one process", sequential_seconds, sequential["status"]],
            ["rlsuite sweep, local Ray", sweep_seconds, f"exit {sweep.returncode}"],
            ["ratio sweep / sequential", ratio, f"target <= {TARGET_RATIO}"],
            ["identical per-trial results", "-", same],
            ["two-node cluster, --address", cluster["seconds"], cluster["ok"]],
            ["Ctrl-C and --resume, exactly once", "-", resume["exactly_once"]],
            ["report", report["seconds"], report["screenshot"] or "no chromium: no screenshot"],
            ["AsyncVectorEnv / SyncVectorEnv steps/s", "-", vectors["async_over_sync"]],
        ],
    )
    figures = {
        "env": ENV_ID,
        "algo": "dqn",
        "learning_rates": LEARNING_RATES,
        "seeds": seeds,
        "steps": steps,
        "trials": trials,
        "sequential_seconds": sequential_seconds,
        "sequential_train_seconds": sequential.get("train_seconds"),
        "sweep_seconds": sweep_seconds,
        "sweep_time_ratio": ratio,
        "same_results": same,
        "cluster_address_ok": bool(cluster["ok"]),
        "cluster": cluster,
        "resume_exactly_once": bool(resume["exactly_once"]),
        "resume": resume,
        "report_screenshot": report["screenshot"],
        "report": report,
        "vector_envs": vectors,
        "targets": {
            f"sweep_time_ratio <= {TARGET_RATIO}": ratio <= TARGET_RATIO,
            "same_results": same,
            "cluster_address_ok": bool(cluster["ok"]),
            "resume_exactly_once": bool(resume["exactly_once"]),
            "report rendered in headless Chromium": report["screenshot"] is not None,
        },
    }
    shutil.rmtree(work, ignore_errors=True)
    finish("scale", figures, args.quick)


if __name__ == "__main__":
    main()
