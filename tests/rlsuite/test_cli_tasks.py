"""``rlsuite train TASK``: a registered task runs into its folder; bad requests leave nothing behind."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from core.errors import UserError
from rlsuite import registry
from rlsuite.tasks import TaskResult, TaskSpec

from .conftest import assert_user_error


def count_task(spec: TaskSpec, run, resume: bool, progress_bar: bool) -> TaskResult:
    """A toy task: counts up to its budget in a file, resuming from what the file holds."""
    if spec.data not in ("ones", "twos"):
        raise UserError(f"unknown data {spec.data!r}")
    unknown = set(spec.hyperparams) - {"scale"}
    if unknown:
        raise UserError(f"unknown hyperparameter {sorted(unknown)[0]!r}")
    state = run.path / "count.json"
    start = json.loads(state.read_text())["count"] if resume and state.is_file() else 0
    budget = spec.steps or 3
    state.write_text(json.dumps({"count": budget}))
    scale = spec.hyperparams.get("scale", 1.0)
    return TaskResult(
        {"count": budget, "resumed_from": start, "total": scale * budget},
        {"state": state},
        hyperparams={"scale": scale},
    )


@dataclass(frozen=True)
class _Toy(registry.Algorithm):
    def load(self) -> Any:
        return count_task


@pytest.fixture(autouse=True)
def toy_task(monkeypatch):
    toy = _Toy("count", "task", "unused:unused", "counts")
    monkeypatch.setitem(registry.ALGORITHMS, "count", toy)


def test_task_runs_into_its_folder(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "count", "--data", "ones", "--steps", "4", "--seed", "2", "--out", out)
    assert result.exit_code == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "task" and config["task"] == "count" and config["data"] == "ones"
    assert config["steps"] == 4 and config["seed"] == 2
    assert config["hyperparams"] == {"scale": 1.0}  # defaults filled in by the task
    assert json.loads((out / "eval.json").read_text()) == {"count": 4, "resumed_from": 0, "total": 4.0}
    assert "total" in result.stdout and str(out / "count.json") in result.stdout


def test_task_resume_keeps_data_and_changes_the_budget(run_cli, tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", "count", "--data", "twos", "--steps", "2", "--out", out).exit_code == 0
    result = run_cli("train", "count", "--steps", "5", "--out", out, "--resume")
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "eval.json").read_text())["resumed_from"] == 2
    assert json.loads((out / "config.json").read_text())["data"] == "twos"
    assert_user_error(
        run_cli("train", "count", "--data", "ones", "--out", out, "--resume"), "trained with data 'twos'"
    )


def test_rejected_task_leaves_no_folder(run_cli, tmp_path):
    out = tmp_path / "run"
    assert_user_error(run_cli("train", "count", "--data", "threes", "--out", out), "unknown data 'threes'")
    assert not out.exists()
    bad = run_cli("train", "count", "--data", "ones", "--set", "nope=1", "--out", out)
    assert_user_error(bad, "unknown hyperparameter 'nope'")
    assert not out.exists()


def test_agent_and_task_options_are_checked(run_cli, tmp_path):
    assert_user_error(run_cli("train", "dqn", "--steps", "10"), "give --env")
    assert_user_error(run_cli("train", "dqn", "--env", "CartPole-v1", "--data", "digits"), "--data is for")
    out = tmp_path / "run"
    assert run_cli("train", "count", "--data", "ones", "--out", out).exit_code == 0
    assert_user_error(run_cli("eval", out), "is a count run, not an agent")
