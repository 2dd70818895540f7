"""Sweep files: parsing, every mistake as one line, trial names and progress; none of this needs Ray."""

import sys
from pathlib import Path

import pytest

from rlsuite.sweep import (
    INSTALL_HINT,
    Dimension,
    EarlyStopping,
    _scheduler,
    load_sweep,
    read_progress,
    trial_run_name,
)
from tests.rlsuite.conftest import assert_user_error

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sweeps"
BASE = "algo: dqn\nenv: CartPole-v1\nsteps: 1000\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_examples_parse(example):
    sweep = load_sweep(example)
    assert sweep.name == example.stem
    assert sweep.search


def test_a_sweep_file_with_every_kind_of_dimension(tmp_path):
    text = BASE + (
        "seeds: 3\nhyperparams: {gamma: 0.98}\n"
        "search:\n  learning_rate: {loguniform: [1e-4, 1e-2]}\n  batch_size: {choice: [32, 64]}\n"
        "  tau: {uniform: [0.5, 1.0]}\n  double_q: {grid: [true, false]}\n"
        "early_stopping: {grace_period: 200, reduction_factor: 3}\n"
    )
    sweep = load_sweep(_write(tmp_path, text), num_samples=4, max_concurrent=2)
    assert sweep.seeds == (0, 1, 2)
    assert sweep.search["learning_rate"] == Dimension("loguniform", (1e-4, 1e-2))  # 1e-4 read as a number
    assert sweep.search["double_q"] == Dimension("grid", (True, False))
    assert (sweep.num_samples, sweep.max_concurrent, sweep.name) == (4, 2, "sweep")
    assert sweep.early_stopping == EarlyStopping(200, 3.0)


def test_asha_decides_on_env_steps_up_to_the_budget(tmp_path):
    pytest.importorskip("ray")
    sweep = load_sweep(_write(tmp_path, BASE + "early_stopping: {grace_period: 100}\n"))
    scheduler = _scheduler(sweep)
    assert type(scheduler).__name__ == "AsyncHyperBandScheduler"
    assert (scheduler._time_attr, scheduler._max_t) == ("step", 1000)
    rungs = [milestone for milestone, _ in scheduler._brackets[0]._rungs]
    assert rungs == [800, 400, 200, 100]  # grace period 100, reduction factor 2
    assert _scheduler(load_sweep(_write(tmp_path, BASE))) is None


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("algo: dqn\nsteps: 10\n", ["needs 'env'"]),
        (BASE + "colour: red\n", ["unknown sweep key colour"]),
        ("algo: nope\nenv: CartPole-v1\nsteps: 10\n", ["unknown agent algorithm 'nope'"]),
        ("algo: vi\nenv: CartPole-v1\nsteps: 10\n", ["unknown agent algorithm 'vi'"]),
        ("algo: dqn\nenv: NoSuchEnv-v9\nsteps: 10\n", ["unknown environment", "NoSuchEnv-v9"]),
        (BASE + "hyperparams: {lr: 0.1}\n", ["unknown hyperparameter 'lr' for dqn", "learning_rate"]),
        (BASE + "hyperparams: {seed: 1}\n", ["'seeds'"]),
        (BASE + "hyperparams: {gamma: 0.9}\nsearch: {gamma: {grid: [0.9]}}\n", ["gamma is both fixed"]),
        (BASE + "search: {gamma: [0.9, 0.99]}\n", ["search.gamma must be one of"]),
        (BASE + "search: {gamma: {grid: []}}\n", ["search.gamma.grid must be a non-empty list"]),
        (BASE + "search: {learning_rate: {loguniform: [0, 1]}}\n", ["positive lo < hi"]),
        (BASE + "seeds: [1, 1]\n", ["seeds must be distinct"]),
        (BASE + "seeds: 0\n", ["seeds (a count) must be a positive integer"]),
        (BASE + "metric: reward\n", ["metric must be one of"]),
        (BASE + "mode: up\n", ["mode must be max or min"]),
        (BASE + "metric: eval_mean_return\nearly_stopping: {}\n", ["needs metric: episode_return_mean"]),
        (BASE + "early_stopping: {grace_period: 1000}\n", ["grace_period (1000) must be below steps"]),
        (BASE + "name: a/b\n", ["plain folder name"]),
        ("- just\n- a list\n", ["must hold a mapping"]),
        ("algo: [unclosed\n", ["malformed YAML"]),
    ],
)
def test_mistakes_are_one_line_errors(run_cli, tmp_path, text, fragments):
    assert_user_error(run_cli("sweep", _write(tmp_path, text)), *fragments)


def test_a_missing_sweep_file(run_cli, tmp_path):
    assert_user_error(run_cli("sweep", tmp_path / "none.yaml"), "sweep file not found")


def test_without_ray_the_command_says_how_to_install_it(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    assert_user_error(run_cli("sweep", _write(tmp_path, BASE), "--out", tmp_path / "s"), INSTALL_HINT)


def test_trial_names_are_plain_folder_names():
    assert trial_run_name(3, {"seed": 1, "learning_rate": 0.00123456}) == "003-learning_rate=0.001235-seed=1"
    assert trial_run_name(12, {"seed": 0, "activation": "a/b"}) == "012-activation=a_b-seed=0"


def test_progress_reads_complete_rows_only(tmp_path):
    assert read_progress(tmp_path) is None
    rows = "step,episode_return,episode_length,epsilon\n" + "".join(
        f"{10 * i},{float(i)},10,0.5\n" for i in range(1, 13)
    )
    (tmp_path / "metrics.csv").write_text(rows + "130,99.0,1")  # a row still being written
    progress = read_progress(tmp_path)
    assert progress == {"step": 120, "episodes": 12, "episode_return_mean": sum(range(3, 13)) / 10}
