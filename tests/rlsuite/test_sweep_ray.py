"""Sweeps on a real Ray cluster: a head and a second node started here, joined with --address.

One cluster serves the module (it is the slow part: ~20 s on two busy cores). The tests check that trials
are ordinary run folders with the same numbers as ``rlsuite train``, that a crashing trial is reported
without taking the sweep down, and that a sweep interrupted midway resumes with every trial exactly once.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from rlsuite.sweep import local_cluster  # noqa: E402
from rlsuite.training import TrainSpec, train  # noqa: E402

TINY = {"learning_starts": 100, "train_freq": 50, "gradient_steps": 5, "buffer_size": 1000}
STEPS = 400


def _sweep_file(tmp_path: Path, learning_rates: list[float], seeds: list[int]) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "algo: dqn\nenv: CartPole-v1\n"
        f"steps: {STEPS}\nseeds: {seeds}\nhyperparams: {json.dumps(TINY)}\n"
        f"search:\n  learning_rate: {{grid: {learning_rates}}}\neval_episodes: 2\n"
    )
    return path


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node, one CPU each, started here and stopped afterwards."""
    with local_cluster(nodes=2, cpus_per_node=1) as address:
        yield address


def _summary(folder: Path) -> dict:
    return {trial["name"]: trial for trial in json.loads((folder / "summary.json").read_text())["trials"]}


@pytest.mark.timeout(240)
def test_trials_are_run_folders_a_crash_is_reported_and_the_rest_go_on(cluster, run_cli, tmp_path):
    out = tmp_path / "sweep"
    result = run_cli("sweep", _sweep_file(tmp_path, [1e-3, -1.0], [1]), "--address", cluster, "--out", out)
    assert result.exit_code == 1, result.stderr  # finished, with failed trials
    trials = _summary(out)
    assert sorted(t["status"] for t in trials.values()) == ["error", "finished"]
    failures = [line for line in result.stderr.splitlines() if line.startswith("rlsuite: trial")]
    assert len(failures) == 1 and "learning_rate must be a number in (0.0, 1.0]" in failures[0]
    assert "best: " in result.stdout

    # A trial is an ordinary run: eval reads it, and it is exactly the run that rlsuite train makes.
    finished = next(t for t in trials.values() if t["status"] == "finished")
    run = Path(finished["run"])
    evaluation = run_cli("eval", run, "--episodes", "2", "--json")
    assert evaluation.exit_code == 0 and "mean_return" in json.loads(evaluation.stdout)
    alone = tmp_path / "alone"
    train(
        TrainSpec("dqn", "CartPole-v1", {}, {**TINY, "learning_rate": 1e-3}, STEPS, 1), alone, eval_episodes=2
    )
    assert (run / "metrics.csv").read_text() == (alone / "metrics.csv").read_text()
    assert json.loads((run / "eval.json").read_text()) == json.loads((alone / "eval.json").read_text())
    assert (
        finished["metrics"]["eval_mean_return"]
        == json.loads((alone / "eval.json").read_text())["mean_return"]
    )

    report = run_cli("report", out / "runs", "--out", tmp_path / "report.html", "--no-gifs")
    assert report.exit_code == 0 and "1 runs" in report.stdout


@pytest.mark.timeout(300)
def test_an_interrupted_sweep_resumes_with_every_trial_exactly_once(cluster, run_cli, tmp_path):
    config, out = _sweep_file(tmp_path, [1e-3], [0, 1, 2]), tmp_path / "sweep"
    command = [str(Path(sys.executable).with_name("rlsuite")), "sweep", str(config), "--out", str(out)]
    sweep = subprocess.Popen(
        [*command, "--address", cluster, "--max-concurrent", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = out / "runs"
    while not list(runs.glob("*/eval.json")):  # the first trial has finished
        assert sweep.poll() is None, sweep.communicate()
        time.sleep(0.2)
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, stderr
    assert "--resume" in stderr
    done_before = {path.parent.name: path.stat().st_mtime_ns for path in runs.glob("*/eval.json")}
    assert 1 <= len(done_before) < 3

    result = run_cli("sweep", config, "--out", out, "--address", cluster, "--resume", "--max-concurrent", "1")
    assert result.exit_code == 0, result.stderr
    trials = _summary(out)
    assert len(trials) == 3 and all(t["status"] == "finished" for t in trials.values())
    assert sorted(t["seed"] for t in trials.values()) == [0, 1, 2]
    assert sorted(path.name for path in runs.iterdir()) == sorted(trials)
    for name, mtime in done_before.items():  # finished trials were not run again
        assert (runs / name / "eval.json").stat().st_mtime_ns == mtime
    for name in trials:  # and each trial trained once: one pass over the steps, none repeated
        steps = [
            int(line.split(",")[0]) for line in (runs / name / "metrics.csv").read_text().splitlines()[1:]
        ]
        assert steps == sorted(steps) and steps[-1] <= STEPS  # a second pass would start again from 0
