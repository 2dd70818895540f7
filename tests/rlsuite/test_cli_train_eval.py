"""``rlsuite train`` and ``rlsuite eval``: the run folder, eval's JSON, Ctrl-C and --resume."""

from __future__ import annotations

import json

import pytest

from agents.tabular import QLearning
from core.checkpoint import load_checkpoint

from .conftest import assert_user_error

TRAIN = ["train", "q-learning", "--env", "rlsuite/GridWorld-v0", "--eval-episodes", "5"]


@pytest.fixture
def trained(run_cli, tmp_path):
    """A small Q-learning run on the book grid."""
    out = tmp_path / "run"
    result = run_cli(*TRAIN, "--steps", "2000", "--seed", "3", "--out", out, "--set", "learning_rate=0.3")
    assert result.exit_code == 0, result.stderr
    return out


def test_train_writes_the_run_folder(trained):
    for name in ("config.json", "model.pt", "metrics.csv", "eval.json", "learning_curve.png", "values.png"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["algo"] == "q-learning" and config["env_id"] == "rlsuite/GridWorld-v0"
    assert config["steps"] == 2000 and config["seed"] == 3
    assert config["hyperparams"]["learning_rate"] == 0.3 and config["hyperparams"]["seed"] == 3
    assert "versions" in config
    assert load_checkpoint(trained / "model.pt")["num_timesteps"] == 2000


def test_eval_json(run_cli, trained, tmp_path):
    result = run_cli("eval", trained, "--episodes", "7", "--json", "--gif", tmp_path / "episode.gif")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"mean_return", "std_return", "episodes"} <= set(summary)
    assert summary["episodes"] == 7
    assert (tmp_path / "episode.gif").stat().st_size > 0
    text = run_cli("eval", trained, "--episodes", "3")
    assert text.exit_code == 0 and "mean_return" in text.stdout


def test_resume_trains_the_remaining_steps(run_cli, trained):
    result = run_cli(*TRAIN, "--steps", "3000", "--out", trained, "--resume")
    assert result.exit_code == 0, result.stderr
    assert load_checkpoint(trained / "model.pt")["num_timesteps"] == 3000
    assert json.loads((trained / "config.json").read_text())["steps"] == 3000


def test_ctrl_c_saves_a_checkpoint_and_exits_130(run_cli, tmp_path, monkeypatch):
    learn = QLearning.learn

    def interrupted_learn(self, total_steps, **kwargs):
        learn(self, 500, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(QLearning, "learn", interrupted_learn)
    out = tmp_path / "run"
    result = run_cli(*TRAIN, "--steps", "1000", "--out", out)
    assert result.exit_code == 130
    assert "--resume" in result.stderr and str(out) in result.stderr
    assert load_checkpoint(out / "model.pt")["num_timesteps"] == 500

    monkeypatch.setattr(QLearning, "learn", learn)
    resumed = run_cli(*TRAIN, "--out", out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert load_checkpoint(out / "model.pt")["num_timesteps"] == 1000


def test_unknown_env_id_leaves_no_run_folder(run_cli, tmp_path):
    result = run_cli("train", "q-learning", "--env", "NoSuchEnv-v0", "--out", tmp_path / "r")
    assert_user_error(result, "NoSuchEnv")
    assert not (tmp_path / "r").exists()


def test_resume_needs_an_existing_run(run_cli, tmp_path):
    assert_user_error(run_cli(*TRAIN, "--out", tmp_path / "missing", "--resume"), "missing")


def test_unknown_algorithm_and_planner(run_cli, tmp_path):
    assert_user_error(
        run_cli("train", "sarsa", "--env", "rlsuite/GridWorld-v0", "--out", tmp_path / "a"), "sarsa"
    )
    assert_user_error(
        run_cli("train", "vi", "--env", "rlsuite/GridWorld-v0", "--out", tmp_path / "b"), "solve"
    )


def test_bad_hyperparameters(run_cli, tmp_path):
    assert_user_error(run_cli(*TRAIN, "--out", tmp_path / "a", "--set", "lr=0.1"), "lr")
    assert_user_error(run_cli(*TRAIN, "--out", tmp_path / "b", "--set", "gamma=2"), "gamma")
    assert_user_error(run_cli(*TRAIN, "--out", tmp_path / "c", "--set", "gamma"), "key=value")
    assert_user_error(run_cli(*TRAIN, "--out", tmp_path / "d", "--env-kwarg", "colour=red"), "colour")


def test_existing_run_is_not_overwritten(run_cli, trained):
    assert_user_error(run_cli(*TRAIN, "--out", trained), "already exists")


def test_eval_missing_dir_and_corrupt_model(run_cli, trained, tmp_path):
    assert_user_error(run_cli("eval", tmp_path / "nowhere"), "nowhere")
    (trained / "model.pt").write_bytes(b"not a checkpoint")
    assert_user_error(run_cli("eval", trained), "corrupt")
    (trained / "model.pt").unlink()
    assert_user_error(run_cli("eval", trained), "model.pt")
